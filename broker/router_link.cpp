#include "broker/router_link.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <type_traits>
#include <variant>

#include "protocol/batch_builder.hpp"
#include "protocol/limits.hpp"

namespace zrelay::broker {
namespace {

// Bounds the time spent receiving before timers and the stop request are looked at again.
constexpr int batch_size = 512;
// Replies wait for at most this many messages handled after theirs, so that what the turn makes
// for one peer leaves joined in few messages; the turn's end sends the rest.
constexpr int flush_every = 64;

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
    // Replies go every flush_every messages, unless the store has writes to commit: then this
    // turn's replies wait for one commit (and sync) at its end, with the writes of the messages after it.
    if ((i + 1) % flush_every == 0 && !core_.store_pending()) flush();
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
      // A batch of many commands: what it makes leaves every flush_every replies, so that the
      // pending bound of a connection counts what waits at its socket, not this turn's outbox.
      if (core_.outbox_size() >= flush_every && !core_.store_pending()) flush();
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
  Refused refused;
  for (auto batch = (commit(), core_.take_outbox()); !batch.empty(); batch = (commit(), core_.take_outbox())) {
    std::map<ClientId, std::vector<std::size_t>> by_peer;  // indexes into batch, in order
    for (std::size_t i = 0; i < batch.size(); ++i) by_peer[batch[i].to].push_back(i);
    std::vector<std::size_t> unsent;
    for (auto& [to, indexes] : by_peer) send_to(to, batch, indexes, refused, unsent);
    if (unsent.empty()) continue;
    // Back in the outbox's order: the core re-queues items last first to keep their order.
    std::sort(unsent.begin(), unsent.end());
    std::vector<Undelivered> failed;
    failed.reserve(unsent.size());
    for (const std::size_t i : unsent) {
      const bool gone = refused.gone.count(batch[i].to) != 0;
      failed.push_back(Undelivered{std::move(batch[i]), gone});
    }
    core_.undeliverable(std::move(failed));
  }
}

void RouterLink::send_to(const ClientId& to, std::vector<Outgoing>& batch, const std::vector<std::size_t>& indexes,
                         Refused& refused, std::vector<std::size_t>& unsent) {
  // Encoded from copies that share the payloads: what the peer cannot take now goes back to
  // the core as it was, its payload still the one the broker counts (PayloadAccount).
  protocol::BatchBuilder joined;
  std::size_t first_unsent = 0;  // of indexes: the ones before it are on their way
  const auto send_joined = [&](std::size_t up_to) {
    if (send(to, joined.take(), refused)) first_unsent = up_to;
  };
  for (std::size_t k = 0; k < indexes.size() && !refused.any(to); ++k) {
    protocol::Frames frames = protocol::encode(shared_copy(batch[indexes[k]].message));
    if (joined.add(frames)) continue;
    send_joined(k);
    (void)joined.add(frames);  // an empty builder takes any message
  }
  if (!joined.empty() && !refused.any(to)) send_joined(indexes.size());
  for (std::size_t k = first_unsent; k < indexes.size(); ++k) unsent.push_back(indexes[k]);
}

bool RouterLink::send(const ClientId& to, protocol::Frames&& frames, Refused& refused) {
  try {
    zmq::message_t routing_id(to.data(), to.size());
    if (router_.send(routing_id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
        (void)router_.send(frames[i], flags | zmq::send_flags::dontwait);  // a started message completes
      }
      return true;
    }
    refused.full.insert(to);  // its pipe is full (EAGAIN)
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH) throw;
    refused.gone.insert(to);
  }
  return false;
}

}  // namespace zrelay::broker
