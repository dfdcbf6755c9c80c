#include "endpoint/uploader.hpp"

#include <algorithm>

#include "protocol/limits.hpp"

namespace zrelay::endpoint {

using namespace protocol;

bool Uploader::takes(const ClientMessage& message) const {
  const auto object = object_view(message);
  return object && (object->payload.size() > chunk_size || groups_.count(object->group) != 0);
}

void Uploader::push(ClientMessage&& object) {
  groups_.insert(object_view(object)->group);
  queue_.push_back(std::move(object));
}

ClientMessage Uploader::next_part() {
  const ClientMessage& front = queue_.front();
  const zmq::message_t& payload = object_view(front)->payload;
  if (!begun_) {
    begun_ = true;
    offset_ = 0;
    if (const auto* m = std::get_if<Broadcast>(&front)) return Begin{m->seq, m->group, Kind::broadcast, 1, payload.size()};
    const auto& p = std::get<Produce>(front);
    return Begin{p.seq, p.group, Kind::produced, p.copies, payload.size()};
  }
  const std::uint64_t seq = object_view(front)->seq;
  const std::size_t size = std::min<std::uint64_t>(chunk_size, payload.size() - offset_);
  // The chunk is a copy: a zero-copy view would have to keep the object's buffer alive until
  // libzmq sent it, after the object itself may be gone (confirmed).
  Chunk chunk{seq, offset_, zmq::message_t(static_cast<const char*>(payload.data()) + offset_, size)};
  offset_ += size;
  return chunk;
}

ClientMessage Uploader::pop() {
  groups_.erase(groups_.find(object_view(queue_.front())->group));
  ClientMessage front = std::move(queue_.front());
  queue_.pop_front();
  begun_ = false;
  offset_ = 0;
  return front;
}

std::pair<std::uint64_t, std::uint64_t> Uploader::progress() const {
  // Chunks are confirmed in order: everything before the oldest unconfirmed one is confirmed.
  if (!in_flight_.empty()) return {in_flight_.front().object_size, in_flight_.front().offset};
  if (queue_.empty() || !begun_) return {0, 0};
  return {object_view(queue_.front())->payload.size(), offset_};
}

void Uploader::restart() {
  queue_.clear();
  groups_.clear();
  begun_ = false;
  offset_ = 0;
  in_flight_.clear();
}

}  // namespace zrelay::endpoint
