#pragma once
// The endpoint's I/O loop, a pump around LinkCore: a CURVE DEALER socket to the broker (a fresh
// one whenever the core says connect), a socket monitor to see the handshake fail or the
// connection drop, the application's SubmitQueue and the control pipe (stop, acks or
// submitted messages waiting). It hands every event to the core with the time, carries out the core's actions,
// and reports after every turn.
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include <zmq.hpp>
#include <zrelay/endpoint_options.hpp>

#include "endpoint/ack_queue.hpp"
#include "endpoint/submit_queue.hpp"
#include "endpoint/link_core.hpp"
#include "protocol/codec.hpp"

namespace zrelay::endpoint {

// What the application side shares with the I/O thread besides the control pipe.
struct LinkHooks {
  // Called after each event with the session and the latest handshake problem (or empty).
  std::function<void(Session&, const std::string&, const TransferProgress&)> publish;
  // Acknowledgements the application queued.
  AckQueue* acks = nullptr;
  // Objects, credits and syncs the application handed over, in order.
  SubmitQueue* submitted = nullptr;
  // True while a submit() may still put something into the queue (see Endpoint::Impl::stop).
  std::function<bool()> submitting;
};

class BrokerLink {
 public:
  using Clock = std::chrono::steady_clock;

  // `id`: this endpoint's id, in every HELLO.
  BrokerLink(zmq::context_t& context, const EndpointOptions& options, EndpointId id);
  ~BrokerLink();
  BrokerLink(const BrokerLink&) = delete;
  BrokerLink& operator=(const BrokerLink&) = delete;

  // Runs until the session is closed or failed. A 's' on `control` asks to stop: what
  // hooks.submitted still holds is sent, then BYE; past options.stop_timeout the session fails
  // instead. An 'a' says acknowledgements are waiting in hooks.acks, a 'd' messages in hooks.submitted.
  void run(zmq::socket_t& control, const LinkHooks& hooks);

 private:
  void connect();     // a new DEALER and its monitor
  void disconnect();  // closes them; what they held is dropped (the session resends it)
  // Carries out what the core asks for, in order; messages wait in the outbox for flush().
  void apply();
  // While stopping: asks the core whether BYE may go, with probes of the queues and the outbox.
  void stop_when_drained(Clock::time_point now);
  void on_monitor_event();  // reads every waiting event
  void on_monitor_event(const zmq::message_t& event);
  void on_broker_message(Clock::time_point now);
  void on_submitted();
  void on_control(zmq::socket_t& control);
  void send_acks();
  // Sends the outbox without blocking, in order, until the socket is full: what waits is joined
  // into batches (protocol::BatchBuilder), so many small commands cost one message, one box.
  void flush();
  [[nodiscard]] bool can_take_submitted() const;

  zmq::context_t& context_;
  const EndpointOptions& options_;
  const LinkHooks* hooks_ = nullptr;
  LinkCore core_;
  std::optional<zmq::socket_t> dealer_;
  std::optional<zmq::socket_t> monitor_;
  unsigned connections_ = 0;
  std::deque<protocol::Frames> outbox_;  // encoded, waiting for the turn's flush or for room at the broker
  std::size_t outbox_bytes_ = 0;
  bool drain_monitor_ = false;  // a new monitor socket is read once before it is waited on
};

}  // namespace zrelay::endpoint
