#pragma once
// Moves messages between the broker's ROUTER socket and BrokerCore: receives and decodes with
// bounded memory, encodes and sends without blocking, and reports failed sends back to the core.
#include <set>
#include <vector>

#include <zmq.hpp>

#include "broker/broker_core.hpp"
#include "broker/durable_store.hpp"
#include "protocol/codec.hpp"

namespace zrelay::broker {

class RouterLink {
 public:
  // With a store, what the core changed in durable groups is committed (and synced) before the
  // messages that confirm it are sent.
  RouterLink(zmq::socket_t& router, BrokerCore& core, DurableStore* store = nullptr)
      : router_(router), core_(core), store_(store) {}

  // Handles the messages waiting on the socket and sends the replies: at most a bounded batch,
  // and none after `deadline`, so the loop's timer runs on time under load.
  void receive_batch(Clock::time_point deadline);
  // Commits what the store is to hold, then sends everything in the core's outbox.
  void flush();
  // Commits the writes a reply waits for; with `everything`, also those none waits for (acknowledgements).
  void commit(bool everything = false);

 private:
  struct Received {
    ClientId from;
    protocol::Frames frames;
    bool too_many_frames = false;
  };

  // The peers that did not take a message in this flush: later ones to them wait too (a send
  // that succeeded after a refused one would overtake it).
  struct Refused {
    std::set<ClientId> full;  // EAGAIN: its pipe is full
    std::set<ClientId> gone;  // EHOSTUNREACH
    [[nodiscard]] bool any(const ClientId& id) const { return full.count(id) != 0 || gone.count(id) != 0; }
  };

  [[nodiscard]] std::optional<Received> receive();

  void handle(Received&& received);
  // Sends the messages batch[indexes] to one peer in order, joined into as few as the batch
  // bounds allow; adds the indexes of those it did not take to `unsent`.
  void send_to(const ClientId& to, std::vector<Outgoing>& batch, const std::vector<std::size_t>& indexes,
               Refused& refused, std::vector<std::size_t>& unsent);
  // Sends one message without blocking; false (and the peer in `refused`) if it did not go.
  [[nodiscard]] bool send(const ClientId& to, protocol::Frames&& frames, Refused& refused);

  zmq::socket_t& router_;
  BrokerCore& core_;
  DurableStore* store_;
};

}  // namespace zrelay::broker
