#pragma once
// Moves messages between the broker's ROUTER socket and BrokerCore: receives and decodes with
// bounded memory, encodes and sends without blocking, and reports failed sends back to the core.
#include <zmq.hpp>

#include "broker/broker_core.hpp"
#include "protocol/codec.hpp"

namespace zrelay::broker {

class RouterLink {
 public:
  RouterLink(zmq::socket_t& router, BrokerCore& core) : router_(router), core_(core) {}

  // Handles the messages waiting on the socket and sends the replies: at most a bounded batch,
  // and none after `deadline`, so the loop's timer runs on time under load.
  void receive_batch(Clock::time_point deadline);
  // Sends everything in the core's outbox.
  void flush();

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
};

}  // namespace zrelay::broker
