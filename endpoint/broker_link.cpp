#include "endpoint/broker_link.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "endpoint/drain_check.hpp"
#include "protocol/handover.hpp"
#include "protocol/limits.hpp"

namespace zrelay::endpoint {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(50);
// Messages handled per turn of the loop, so that timers and stop requests are seen under load.
constexpr int batch_size = 256;
// How long a new session after a loss may take to open before the next attempt.
constexpr auto min_attempt_window = std::chrono::milliseconds(2000);
// How long messages that arrived before a dropped connection may take to become readable.
constexpr auto disconnect_grace = std::chrono::milliseconds(100);
constexpr int monitored_events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED;

zmq::socket_t make_dealer(zmq::context_t& context, const EndpointOptions& options) {
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::curve_serverkey, options.broker_public_key);
  dealer.set(zmq::sockopt::curve_publickey, options.certificate.public_key());
  dealer.set(zmq::sockopt::curve_secretkey, options.certificate.secret_key());
  dealer.set(zmq::sockopt::linger, 0);  // stop() waits for GOODBYE instead; a lost session resends
  dealer.set(zmq::sockopt::reconnect_ivl, 100);
  // ZMTP heartbeats: a connection that went silent (no reset, e.g. a dead host) ends within 5 s.
  dealer.set(zmq::sockopt::heartbeat_ivl, 1000);
  dealer.set(zmq::sockopt::heartbeat_timeout, 5000);
  return dealer;
}

std::optional<protocol::Frames> receive_frames(zmq::socket_t& socket) {
  protocol::Frames frames;
  zmq::message_t frame;
  if (!socket.recv(frame, zmq::recv_flags::dontwait)) return std::nullopt;
  bool more = frame.more();
  frames.push_back(std::move(frame));
  while (more) {
    zmq::message_t next;
    (void)socket.recv(next, zmq::recv_flags::none);
    more = next.more();
    if (frames.size() <= protocol::max_frames) frames.push_back(std::move(next));  // decode rejects the excess
  }
  return frames;
}

// A socket this thread only reads, and always reads until it is empty, can be polled by its
// ZMQ_FD alone: libzmq signals that descriptor when a message arrives at an emptied socket.
// zmq_poll instead asks every socket for ZMQ_EVENTS, twice when it waits: one system call each.
zmq::pollitem_t signal_of(zmq::socket_t& socket) {
  return {nullptr, socket.get(zmq::sockopt::fd), ZMQ_POLLIN, 0};
}

bool try_send(zmq::socket_t& socket, protocol::Frames& frames) {
  const auto more = [&](std::size_t i) { return i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none; };
  if (!socket.send(frames.front(), more(0) | zmq::send_flags::dontwait)) return false;
  for (std::size_t i = 1; i < frames.size(); ++i) (void)socket.send(frames[i], more(i));  // a started message completes
  return true;
}

}  // namespace

BrokerLink::BrokerLink(zmq::context_t& context, const EndpointOptions& options, EndpointId id)
    : context_(context),
      options_(options),
      session_(options.groups, options.name, 256, id),
      backoff_(options.reconnect),
      random_(std::random_device{}()) {
  connect();
}

BrokerLink::~BrokerLink() { disconnect(); }

void BrokerLink::connect() {
  zmq::socket_t dealer = make_dealer(context_, options_);
  const std::string address = "inproc://zrelay-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) +
                              "-" + std::to_string(connections_++);
  if (zmq_socket_monitor(dealer.handle(), address.c_str(), monitored_events) != 0) throw zmq::error_t();
  zmq::socket_t monitor(context_, zmq::socket_type::pair);
  monitor.connect(address);
  try {
    dealer.connect(options_.broker);
  } catch (const zmq::error_t& e) {
    zmq_socket_monitor(dealer.handle(), nullptr, 0);
    throw Error(ErrorCode::configuration,
                "cannot connect to broker address '" + options_.broker + "' (expected tcp://HOST:PORT): " + e.what());
  }
  dealer_ = std::move(dealer);
  monitor_ = std::move(monitor);
  drain_monitor_ = true;
}

void BrokerLink::disconnect() {
  outbox_.clear();
  lost_connection_at_.reset();
  if (!dealer_) return;
  zmq_socket_monitor(dealer_->handle(), nullptr, 0);
  monitor_.reset();
  dealer_.reset();
}

void BrokerLink::run(zmq::socket_t& pipe, zmq::socket_t& control, const LinkHooks& hooks) {
  hooks_ = &hooks;
  open_session(Clock::now());
  flush();
  hooks.publish(session_, problem_);
  on_control(control);  // read once before waiting: a new socket signals only once it was emptied
  while (!finished()) {
    if (drain_monitor_) on_monitor_event();
    std::vector<zmq::pollitem_t> items{signal_of(control),
                                       {pipe.handle(), 0, static_cast<short>(can_read_pipe() ? ZMQ_POLLIN : 0), 0}};
    if (dealer_) {
      items.push_back({dealer_->handle(), 0, static_cast<short>(ZMQ_POLLIN | (outbox_.empty() ? 0 : ZMQ_POLLOUT)), 0});
      items.push_back(signal_of(*monitor_));
    }
    try {
      zmq::poll(items, poll_interval);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      session_.fail(Error(ErrorCode::connection_failed, std::string("poll failed: ") + e.what()));
      break;
    }
    const auto now = Clock::now();
    if (dealer_ && (items[3].revents & ZMQ_POLLIN)) on_monitor_event();
    if (dealer_ && (items[2].revents & ZMQ_POLLIN)) on_broker_message(now);
    if (items[0].revents & ZMQ_POLLIN) on_control(control);
    on_timers(now);  // first: nothing goes out on a session the broker has given up on
    flush();
    on_pipe_message(pipe);
    send_acks();
    if (stop_deadline_) close_when_drained(pipe);
    if (stop_deadline_ && now >= *stop_deadline_ && !finished()) {
      session_.fail(Error(ErrorCode::timeout, "the broker did not confirm the end of the session in time"));
    }
    hooks.publish(session_, problem_);
  }
  hooks.publish(session_, problem_);
}

bool BrokerLink::finished() const {
  return session_.state() == SessionState::closed || session_.state() == SessionState::failed;
}

void BrokerLink::open_session(Clock::time_point now) {
  for (auto& message : session_.open()) queue(std::move(message));
  liveness_.start(now, std::chrono::milliseconds(session_.heartbeat_ms()), std::chrono::milliseconds(session_.liveness_ms()));
  if (session_.ever_active()) {
    attempt_deadline_ = now + std::max<std::chrono::milliseconds>(min_attempt_window,
                                                                  std::chrono::milliseconds(session_.liveness_ms()));
  }
}

void BrokerLink::on_monitor_event() {
  drain_monitor_ = false;
  zmq::message_t event;
  zmq::message_t address;
  while (monitor_ && monitor_->recv(event, zmq::recv_flags::dontwait)) {  // until empty: see signal_of
    (void)monitor_->recv(address, zmq::recv_flags::none);
    on_monitor_event(event);
  }
}

void BrokerLink::on_monitor_event(const zmq::message_t& event) {
  if (event.size() < 6) return;
  std::uint16_t id = 0;
  std::uint32_t value = 0;
  std::memcpy(&id, event.data(), sizeof id);
  std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
  switch (id) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      session_.on_auth_failed(static_cast<int>(value));
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      problem_ = "CURVE handshake failed (code " + std::to_string(value) + ")";
      break;
    case ZMQ_EVENT_DISCONNECTED:
      if (session_.state() == SessionState::active || session_.state() == SessionState::closing) {
        if (!lost_connection_at_) lost_connection_at_ = Clock::now();
      } else {
        problem_ = "the broker closed the connection during the handshake (wrong broker key?)";
      }
      break;
    default:
      break;
  }
}

void BrokerLink::on_broker_message(Clock::time_point now) {
  const bool was_active = session_.state() == SessionState::active;
  for (int i = 0; i < batch_size && dealer_; ++i) {
    auto frames = receive_frames(*dealer_);
    if (!frames) break;
    liveness_.heard(now);
    auto batch = protocol::decode_broker_batch(*frames);
    for (protocol::BrokerMessage& message : batch.messages) session_.on_message(std::move(message));
    if (batch.error) {
      session_.fail(Error(batch.error->code(),
                          std::string("the broker sent a message this endpoint cannot read: ") + batch.error->what()));
      return;
    }
    if (session_.state() == SessionState::reconnecting) {
      after_loss(now);
      return;
    }
  }
  if (!was_active && session_.state() == SessionState::active) {
    backoff_.reset();
    attempt_deadline_.reset();
    liveness_.start(now, std::chrono::milliseconds(session_.heartbeat_ms()), std::chrono::milliseconds(session_.liveness_ms()));
  }
  for (auto& message : session_.take_outgoing()) queue(std::move(message));
}

void BrokerLink::on_pipe_message(zmq::socket_t& pipe) {
  // Acknowledgements the application queued before it wrote to the pipe go first, so that a
  // sync() after pop() covers the acks of what was taken.
  send_acks();
  for (int i = 0; i < batch_size && can_read_pipe(); ++i) {
    auto frames = receive_frames(pipe);
    if (!frames) return;
    for (zmq::message_t& frame : *frames) zrelay::detail::taken_back(frame.data());  // written by submit()
    queue(session_.outgoing(protocol::decode_client(*frames)));  // our own encoding: cannot fail
    if (session_.confirmation_due()) queue(session_.heartbeat());
    flush();
  }
}

void BrokerLink::on_control(zmq::socket_t& control) {
  zmq::message_t request;
  while (control.recv(request, zmq::recv_flags::dontwait)) {
    const bool stop = request.size() == 1 && *static_cast<const char*>(request.data()) == 's';
    if (stop && !stop_deadline_) stop_deadline_ = Clock::now() + options_.stop_timeout;
  }
}

void BrokerLink::send_acks() {
  if (session_.state() != SessionState::active || hooks_->acks == nullptr || hooks_->acks->empty()) return;
  const auto ids = hooks_->acks->take();
  for (std::size_t begin = 0; begin < ids.size(); begin += protocol::max_acks) {
    const std::size_t end = std::min(ids.size(), begin + protocol::max_acks);
    queue(protocol::Ack{{ids.begin() + static_cast<std::ptrdiff_t>(begin), ids.begin() + static_cast<std::ptrdiff_t>(end)}});
  }
  flush();
}

void BrokerLink::on_timers(Clock::time_point now) {
  if (lost_connection_at_ && now >= *lost_connection_at_ + disconnect_grace) {
    lost_connection_at_.reset();
    if (session_.state() == SessionState::active || session_.state() == SessionState::closing) {
      session_.lose("lost the connection to the broker at " + options_.broker);
      after_loss(now);
      return;
    }
  }
  switch (session_.state()) {
    case SessionState::reconnecting:
      if (next_attempt_ && now >= *next_attempt_) {
        next_attempt_.reset();
        connect();
        open_session(now);
        flush();
      }
      break;
    case SessionState::connecting:
      if (attempt_deadline_ && now >= *attempt_deadline_) {
        session_.lose("no new session within " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::max<std::chrono::milliseconds>(min_attempt_window,
                                                                             std::chrono::milliseconds(session_.liveness_ms())))
                                         .count()) +
                      " ms" + (problem_.empty() ? std::string() : " (" + problem_ + ")"));
        after_loss(now);
      }
      break;
    case SessionState::active:
      if (liveness_.broker_silent(now)) {
        session_.lose("no word from the broker for " + std::to_string(session_.liveness_ms()) + " ms");
        after_loss(now);
      } else if (liveness_.ping_due(now)) {
        queue(session_.heartbeat());
        liveness_.pinged(now);
        flush();
      }
      break;
    default:
      break;
  }
}

void BrokerLink::after_loss(Clock::time_point now) {
  if (session_.state() != SessionState::reconnecting) return;
  disconnect();
  attempt_deadline_.reset();
  if (!options_.reconnect.enabled) {
    session_.fail(Error(ErrorCode::connection_failed, "lost the session and reconnection is disabled"));
  } else if (backoff_.exhausted()) {
    session_.fail(Error(ErrorCode::connection_failed, "no new session after " +
                                                          std::to_string(options_.reconnect.max_attempts) + " attempts"));
  } else {
    next_attempt_ = now + backoff_.next(std::uniform_real_distribution<double>(0.0, 1.0)(random_));
  }
}

void BrokerLink::close_when_drained(zmq::socket_t& pipe) {
  if (bye_sent_) return;
  const DrainProbes probes{
      [this] { return hooks_->submitting && hooks_->submitting(); },
      [&pipe] { return (pipe.get(zmq::sockopt::events) & ZMQ_POLLIN) == 0; },
      [this] { return hooks_->acks == nullptr || hooks_->acks->empty(); },
      [this] { return outbox_.empty(); },
  };
  if (!drained(probes)) return;
  if (session_.state() == SessionState::active) {
    bye_sent_ = true;
    queue(*session_.close());
    flush();
  } else if (session_.unconfirmed() == 0) {
    // No session now, and the broker has confirmed everything: nothing is left to say.
    (void)session_.close();
  }
}

void BrokerLink::queue(protocol::ClientMessage&& message) { outbox_.push_back(protocol::encode(std::move(message))); }

void BrokerLink::flush() {
  if (lost_connection_at_) return;  // libzmq may already be connected to a restarted broker
  while (dealer_ && !outbox_.empty() && try_send(*dealer_, outbox_.front())) outbox_.pop_front();
}

bool BrokerLink::can_read_pipe() const {
  return session_.state() == SessionState::active && !bye_sent_ && !lost_connection_at_ && outbox_.empty() &&
         session_.unconfirmed() < options_.max_unconfirmed;
}

}  // namespace zrelay::endpoint
