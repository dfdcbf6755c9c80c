#include "endpoint/broker_link.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "protocol/batch_builder.hpp"
#include "protocol/limits.hpp"

namespace zrelay::endpoint {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(50);
// Messages handled per turn of the loop, so that timers and stop requests are seen under load.
constexpr int batch_size = 256;
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

std::size_t bytes_of(const protocol::Frames& frames) {
  std::size_t bytes = 0;
  for (const zmq::message_t& frame : frames) bytes += frame.size();
  return bytes;
}

bool try_send(zmq::socket_t& socket, protocol::Frames& frames) {
  const auto more = [&](std::size_t i) { return i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none; };
  if (!socket.send(frames.front(), more(0) | zmq::send_flags::dontwait)) return false;
  for (std::size_t i = 1; i < frames.size(); ++i) (void)socket.send(frames[i], more(i));  // a started message completes
  return true;
}

}  // namespace

BrokerLink::BrokerLink(zmq::context_t& context, const EndpointOptions& options, EndpointId id)
    : context_(context), options_(options), core_(options, id, std::random_device{}()) {
  connect();  // here, so that a bad address throws to the Endpoint's constructor
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
  outbox_bytes_ = 0;
  if (!dealer_) return;
  zmq_socket_monitor(dealer_->handle(), nullptr, 0);
  monitor_.reset();
  dealer_.reset();
}

void BrokerLink::run(zmq::socket_t& control, const LinkHooks& hooks) {
  hooks_ = &hooks;
  core_.start(Clock::now());
  apply();
  flush();
  hooks.publish(core_.session(), core_.problem(), core_.progress());
  on_control(control);  // read once before waiting: a new socket signals only once it was emptied
  while (!core_.finished()) {
    if (drain_monitor_) on_monitor_event();
    std::vector<zmq::pollitem_t> items{signal_of(control)};
    if (dealer_) {
      items.push_back({dealer_->handle(), 0, static_cast<short>(ZMQ_POLLIN | (outbox_.empty() ? 0 : ZMQ_POLLOUT)), 0});
      items.push_back(signal_of(*monitor_));
    }
    // Messages left in the queue by a full turn are taken at once; new ones wake the loop ('d').
    const bool more_submitted = can_take_submitted() && hooks.submitted != nullptr && !hooks.submitted->empty();
    try {
      zmq::poll(items, more_submitted ? std::chrono::milliseconds(0) : poll_interval);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      core_.session().fail(Error(ErrorCode::connection_failed, std::string("poll failed: ") + e.what()));
      break;
    }
    const auto now = Clock::now();
    if (dealer_ && (items[2].revents & ZMQ_POLLIN)) on_monitor_event();
    if (dealer_ && (items[1].revents & ZMQ_POLLIN)) on_broker_message(now);
    if (items[0].revents & ZMQ_POLLIN) on_control(control);
    core_.tick(now);  // first: nothing goes out on a session the broker has given up on
    apply();
    on_submitted();
    send_acks();
    flush();  // what this turn made, joined in as few messages as the bounds allow
    stop_when_drained(now);
    hooks.publish(core_.session(), core_.problem(), core_.progress());
  }
  hooks.publish(core_.session(), core_.problem(), core_.progress());
}

void BrokerLink::stop_when_drained(Clock::time_point now) {
  if (!core_.stopping()) return;
  const DrainProbes probes{
      [this] { return hooks_->submitting && hooks_->submitting(); },
      [this] { return hooks_->submitted == nullptr || hooks_->submitted->empty(); },
      [this] { return hooks_->acks == nullptr || hooks_->acks->empty(); },
      [this] { return outbox_.empty(); },
  };
  core_.stop_when_drained(now, probes);
  apply();
  flush();
}

void BrokerLink::apply() {
  for (LinkAction& action : core_.take_actions()) {
    if (std::holds_alternative<Connect>(action)) {
      if (!dealer_) connect();  // the first connection was made by the constructor
    } else if (std::holds_alternative<Disconnect>(action)) {
      disconnect();
    } else {
      outbox_.push_back(protocol::encode(std::move(std::get<protocol::ClientMessage>(action))));
      outbox_bytes_ += bytes_of(outbox_.back());
    }
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
      core_.on_auth_failed(static_cast<int>(value));
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      core_.on_handshake_problem("CURVE handshake failed (code " + std::to_string(value) + ")");
      break;
    case ZMQ_EVENT_DISCONNECTED:
      core_.on_disconnected(Clock::now());
      break;
    default:
      break;
  }
}

void BrokerLink::on_broker_message(Clock::time_point now) {
  for (int i = 0; i < batch_size && dealer_ && !core_.finished(); ++i) {
    auto frames = receive_frames(*dealer_);
    if (!frames) break;
    core_.on_broker_message(now, protocol::decode_broker_batch(*frames));
    apply();  // a lost session disconnects: the rest of what its connection held is not read
  }
}

void BrokerLink::on_submitted() {
  // Acknowledgements the application queued before it submitted go first, so that a sync()
  // after pop() covers the acks of what was taken.
  send_acks();
  for (int i = 0; i < batch_size && hooks_->submitted != nullptr && can_take_submitted(); ++i) {
    auto message = hooks_->submitted->take();
    if (!message) return;
    core_.on_application(std::move(*message));
    apply();
  }
}

void BrokerLink::on_control(zmq::socket_t& control) {
  zmq::message_t request;
  while (control.recv(request, zmq::recv_flags::dontwait)) {  // 'a' and 'd' only wake the loop
    const bool stop = request.size() == 1 && *static_cast<const char*>(request.data()) == 's';
    if (stop) core_.on_stop_requested(Clock::now());
  }
}

void BrokerLink::send_acks() {
  if (!core_.accepts_acks() || hooks_->acks == nullptr || hooks_->acks->empty()) return;
  core_.on_acks(hooks_->acks->take());
  apply();
}

void BrokerLink::flush() {
  if (!core_.may_send()) return;
  while (dealer_ && !outbox_.empty()) {
    protocol::BatchBuilder batch;
    while (!outbox_.empty()) {
      const std::size_t bytes = bytes_of(outbox_.front());  // joined, the batch is smaller than its parts
      if (!batch.add(outbox_.front())) break;
      outbox_bytes_ -= bytes;
      outbox_.pop_front();
    }
    protocol::Frames message = batch.take();
    if (!try_send(*dealer_, message)) {
      outbox_bytes_ += bytes_of(message);
      outbox_.push_front(std::move(message));  // joined: the next try sends it as it is now
      return;
    }
  }
}

bool BrokerLink::can_take_submitted() const {
  // Up to a batch's worth waits in the outbox for the turn's flush; past it (the broker is not
  // taking more), the application's messages wait in their queue.
  return core_.accepts_application() && outbox_bytes_ < protocol::max_batch_bytes &&
         outbox_.size() < protocol::max_batch_commands;
}

}  // namespace zrelay::endpoint
