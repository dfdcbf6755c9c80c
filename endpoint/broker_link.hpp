#pragma once
// The endpoint's I/O loop: one CURVE DEALER socket to the broker, a socket monitor to see the
// handshake fail, and the inproc pipe from the application. It drives a Session and reports
// after every event.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <zmq.hpp>
#include <zrelay/endpoint_options.hpp>

#include "endpoint/session.hpp"
#include "protocol/codec.hpp"

namespace zrelay::endpoint {

class BrokerLink {
 public:
  // Called after each event with the session and the latest handshake problem (or empty).
  using Publish = std::function<void(Session&, const std::string&)>;

  BrokerLink(zmq::context_t& context, const EndpointOptions& options);
  ~BrokerLink();
  BrokerLink(const BrokerLink&) = delete;
  BrokerLink& operator=(const BrokerLink&) = delete;

  // Runs until the session is closed or failed. A message on `control` asks to stop: what the
  // pipe still holds is sent, then BYE; past options.stop_timeout the session fails instead.
  void run(zmq::socket_t& pipe, zmq::socket_t& control, const Publish& publish);

 private:
  void on_monitor_event();
  void on_broker_message();
  void on_pipe_message(zmq::socket_t& pipe);
  void on_stop_request(zmq::socket_t& control);
  // Once stopping and nothing of the application's is left to send: BYE.
  void close_when_drained(zmq::socket_t& pipe);
  // Sends to the broker without blocking; false if the socket cannot take it now.
  bool try_send(protocol::Frames& frames);
  [[nodiscard]] bool finished() const;

  const EndpointOptions& options_;
  zmq::socket_t dealer_;
  zmq::socket_t monitor_;
  Session session_;
  std::optional<protocol::Frames> pending_;  // read from the pipe, waiting for room at the broker
  std::optional<std::chrono::steady_clock::time_point> stop_deadline_;  // set by a stop request
  bool bye_sent_ = false;
  std::string problem_;
};

}  // namespace zrelay::endpoint
