#pragma once
// Moves messages between the broker's ROUTER socket and BrokerCore: receives and decodes with
// bounded memory, encodes and sends without blocking, and reports failed sends back to the core.
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

  [[nodiscard]] std::optional<Received> receive();

  void handle(Received&& received);
  // Sends one message without blocking; returns it if the socket did not take it.
  [[nodiscard]] std::optional<Undelivered> send(Outgoing&& out);

  zmq::socket_t& router_;
  BrokerCore& core_;
  DurableStore* store_;
};

}  // namespace zrelay::broker
