#include "endpoint/broker_link.hpp"

#include <cstring>

#include "protocol/limits.hpp"

namespace zrelay::endpoint {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(100);
constexpr int monitored_events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED;

zmq::socket_t make_dealer(zmq::context_t& context, const EndpointOptions& options) {
  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::curve_serverkey, options.broker_public_key);
  dealer.set(zmq::sockopt::curve_publickey, options.certificate.public_key());
  dealer.set(zmq::sockopt::curve_secretkey, options.certificate.secret_key());
  dealer.set(zmq::sockopt::linger, 0);  // stop() waits for GOODBYE instead: nothing is left to send
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

}  // namespace

BrokerLink::BrokerLink(zmq::context_t& context, const EndpointOptions& options)
    : options_(options), dealer_(make_dealer(context, options)), monitor_(context, zmq::socket_type::pair),
      session_(options.groups, options.name) {
  const std::string address = "inproc://zrelay-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  if (zmq_socket_monitor(dealer_.handle(), address.c_str(), monitored_events) != 0) throw zmq::error_t();
  monitor_.connect(address);
  try {
    dealer_.connect(options.broker);
  } catch (const zmq::error_t& e) {
    zmq_socket_monitor(dealer_.handle(), nullptr, 0);
    throw Error(ErrorCode::configuration,
                "cannot connect to broker address '" + options.broker + "' (expected tcp://HOST:PORT): " + e.what());
  }
}

BrokerLink::~BrokerLink() { zmq_socket_monitor(dealer_.handle(), nullptr, 0); }

void BrokerLink::run(zmq::socket_t& pipe, zmq::socket_t& control, const Publish& publish) {
  for (auto& message : session_.open()) {
    auto frames = protocol::encode(std::move(message));
    for (std::size_t i = 0; i < frames.size(); ++i) {
      (void)dealer_.send(frames[i], i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  publish(session_, problem_);
  while (!finished()) {
    const bool waiting_for_room = pending_.has_value();
    zmq::pollitem_t items[] = {
        {dealer_.handle(), 0, static_cast<short>(ZMQ_POLLIN | (waiting_for_room ? ZMQ_POLLOUT : 0)), 0},
        {monitor_.handle(), 0, ZMQ_POLLIN, 0},
        {pipe.handle(), 0, static_cast<short>(waiting_for_room ? 0 : ZMQ_POLLIN), 0},
        {control.handle(), 0, ZMQ_POLLIN, 0},
    };
    try {
      zmq::poll(items, 4, poll_interval);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      session_.fail(Error(ErrorCode::connection_failed, std::string("poll failed: ") + e.what()));
      break;
    }
    if (items[1].revents & ZMQ_POLLIN) on_monitor_event();
    if (items[0].revents & ZMQ_POLLIN) on_broker_message();
    if (pending_ && try_send(*pending_)) pending_.reset();
    if (items[2].revents & ZMQ_POLLIN) on_pipe_message(pipe);
    if (items[3].revents & ZMQ_POLLIN) on_stop_request(control);
    if (stop_deadline_) close_when_drained(pipe);
    if (stop_deadline_ && std::chrono::steady_clock::now() >= *stop_deadline_) {
      session_.fail(Error(ErrorCode::timeout, "the broker did not confirm the end of the session in time"));
    }
    publish(session_, problem_);
  }
  publish(session_, problem_);
}

bool BrokerLink::finished() const {
  return session_.state() == SessionState::closed || session_.state() == SessionState::failed;
}

void BrokerLink::on_monitor_event() {
  zmq::message_t event;
  zmq::message_t address;
  if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
  (void)monitor_.recv(address, zmq::recv_flags::none);
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
        session_.fail(Error(ErrorCode::connection_failed, "lost the connection to the broker at " + options_.broker));
      } else {
        problem_ = "the broker closed the connection during the handshake (wrong broker key?)";
      }
      break;
    default:
      break;
  }
}

void BrokerLink::on_broker_message() {
  // Bounded: deliveries are handed to the application between batches.
  for (int i = 0; i < 256; ++i) {
    auto frames = receive_frames(dealer_);
    if (!frames) return;
    try {
      session_.on_message(protocol::decode_broker(*frames));
    } catch (const Error& e) {
      session_.fail(Error(e.code(), std::string("the broker sent a message this endpoint cannot read: ") + e.what()));
      return;
    }
  }
}

void BrokerLink::on_pipe_message(zmq::socket_t& pipe) {
  auto frames = receive_frames(pipe);
  if (frames && !try_send(*frames)) pending_ = std::move(frames);
}

void BrokerLink::on_stop_request(zmq::socket_t& control) {
  zmq::message_t request;
  (void)control.recv(request, zmq::recv_flags::dontwait);
  if (!stop_deadline_) stop_deadline_ = std::chrono::steady_clock::now() + options_.stop_timeout;
}

void BrokerLink::close_when_drained(zmq::socket_t& pipe) {
  const bool pipe_empty = (pipe.get(zmq::sockopt::events) & ZMQ_POLLIN) == 0;
  if (bye_sent_ || pending_ || !pipe_empty) return;
  bye_sent_ = true;
  if (auto bye = session_.close()) {
    auto frames = protocol::encode(std::move(*bye));
    if (!try_send(frames)) pending_ = std::move(frames);
  }
}

bool BrokerLink::try_send(protocol::Frames& frames) {
  const auto more = [&](std::size_t i) { return i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none; };
  if (!dealer_.send(frames.front(), more(0) | zmq::send_flags::dontwait)) return false;
  for (std::size_t i = 1; i < frames.size(); ++i) (void)dealer_.send(frames[i], more(i));  // a started message completes
  return true;
}

}  // namespace zrelay::endpoint
