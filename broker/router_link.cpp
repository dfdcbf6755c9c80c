#include "broker/router_link.hpp"

#include <set>
#include <type_traits>
#include <variant>


#include "protocol/limits.hpp"

namespace zrelay::broker {
namespace {

// Bounds the time spent receiving before timers and the stop request are looked at again.
constexpr int batch_size = 512;

std::string user_id_of(zmq::message_t& frame) {
  // The ZAP handler set User-Id to the client's Z85 public key; only frames from the peer carry it.
  const char* user_id = zmq_msg_gets(frame.handle(), "User-Id");
  return user_id == nullptr ? std::string() : std::string(user_id);
}

// The same message; a payload is shared (its buffer is reference-counted), not copied.
protocol::BrokerMessage shared_copy(protocol::BrokerMessage& message) {
  return std::visit(
      [](auto& m) -> protocol::BrokerMessage {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, protocol::Deliver>) {
          zmq::message_t payload;
          payload.copy(m.payload);
          return protocol::Deliver{m.group, m.kind, m.delivery_id, m.attempt, std::move(payload), m.object};
        } else if constexpr (std::is_same_v<M, protocol::DeliverChunk>) {
          zmq::message_t data;
          data.copy(m.data);
          return protocol::DeliverChunk{m.delivery_id, m.offset, std::move(data)};
        } else {
          return m;
        }
      },
      message);
}

}  // namespace

void RouterLink::receive_batch(Clock::time_point deadline) {
  for (int i = 0; i < batch_size; ++i) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    auto received = receive();
    if (!received) break;
    core_.advance(now);
    handle(std::move(*received));
    // Replies go at once, unless the store has writes to commit: then this turn's replies wait
    // for one commit (and sync) at its end, with the writes of the messages after it.
    if (!core_.store_pending()) flush();
  }
  flush();
}

std::optional<RouterLink::Received> RouterLink::receive() {
  zmq::message_t routing_id;
  if (!router_.recv(routing_id, zmq::recv_flags::dontwait)) return std::nullopt;
  Received received{routing_id.to_string(), {}, false};
  bool more = routing_id.more();
  while (more) {
    zmq::message_t frame;
    (void)router_.recv(frame, zmq::recv_flags::none);  // the rest of a message is already here
    more = frame.more();
    if (received.frames.size() < protocol::max_frames) {
      received.frames.push_back(std::move(frame));
    } else {
      received.too_many_frames = true;  // read and dropped: memory stays bounded
    }
  }
  return received;
}

void RouterLink::handle(Received&& received) {
  if (received.frames.empty()) {
    core_.reject(received.from, Error(ErrorCode::malformed_message, "malformed message: no frames"));
    return;
  }
  if (received.too_many_frames) {
    core_.reject(received.from, Error(ErrorCode::malformed_message, "malformed message: more than 8 frames"));
    return;
  }
  std::string user_id = user_id_of(received.frames.front());
  // ZMQ_ROUTER_NOTIFY's message: one empty frame that no peer sent, so it carries no User-Id
  // (an empty frame a client sends has one, and is malformed).
  if (user_id.empty() && received.frames.size() == 1 && received.frames.front().size() == 0) {
    core_.connection_closed(received.from);
    return;
  }
  if (user_id.empty()) {
    core_.reject(received.from, Error(ErrorCode::not_authorized, "message without an authenticated key"));
    return;
  }
  protocol::Batch<protocol::ClientMessage> batch;
  try {
    batch = protocol::decode_client_batch(received.frames);
  } catch (const std::exception& e) {  // out of memory: this message only
    core_.reject(received.from, Error(ErrorCode::internal, std::string("the broker failed to read this message: ") + e.what()),
                 user_id);
    return;
  }
  for (protocol::ClientMessage& message : batch.messages) {  // each as if it had come alone
    try {
      core_.handle(received.from, user_id, std::move(message));
    } catch (const std::exception& e) {  // a fault of ours, e.g. out of memory: this command only
      core_.reject(received.from,
                   Error(ErrorCode::internal, std::string("the broker failed to handle this message: ") + e.what()),
                   user_id);
    }
  }
  if (batch.error) core_.reject(received.from, *batch.error, user_id);
}

void RouterLink::commit(bool everything) {
  if (store_ == nullptr || !(everything ? core_.store_dirty() : core_.store_pending())) return;
  store_->commit(core_.take_store_batch());  // throws if it fails: nothing unsynced is confirmed
  core_.set_store_room(store_->room());
}

void RouterLink::flush() {
  // A failed send can re-queue an item for another consumer: loop until nothing is left.
  // Once a peer refused a message, later ones to it wait too: a send that succeeds after a
  // refused one would overtake it.
  std::set<ClientId> full;
  for (auto batch = (commit(), core_.take_outbox()); !batch.empty(); batch = (commit(), core_.take_outbox())) {
    std::vector<Undelivered> failed;
    for (auto& out : batch) {
      if (full.count(out.to) != 0) {
        failed.push_back(Undelivered{std::move(out), false});
      } else if (auto failure = send(std::move(out))) {
        if (!failure->peer_gone) full.insert(failure->out.to);
        failed.push_back(std::move(*failure));
      }
    }
    if (!failed.empty()) core_.undeliverable(std::move(failed));
  }
}

std::optional<Undelivered> RouterLink::send(Outgoing&& out) {
  // Encoded from a copy that shares the payload: if the peer cannot take it now, `out` is
  // given back as it was, its payload still the one the broker counts (PayloadAccount).
  protocol::Frames frames = protocol::encode(shared_copy(out.message));
  bool peer_gone = false;
  try {
    zmq::message_t routing_id(out.to.data(), out.to.size());
    if (router_.send(routing_id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
        (void)router_.send(frames[i], flags | zmq::send_flags::dontwait);  // a started message completes
      }
      return std::nullopt;
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH) throw;
    peer_gone = true;
  }
  // Not sent: the peer is gone (EHOSTUNREACH) or its pipe is full (EAGAIN).
  return Undelivered{std::move(out), peer_gone};
}

}  // namespace zrelay::broker
