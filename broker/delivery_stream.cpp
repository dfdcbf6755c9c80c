#include "broker/delivery_stream.hpp"

#include <algorithm>

#include "protocol/handover.hpp"
#include "protocol/limits.hpp"

namespace zrelay::broker {
namespace {

// What a chunk message holds on to: a share of the object's buffer, and who to tell when libzmq
// released it (on its I/O thread).
struct ChunkHold {
  zmq::message_t payload;
  std::shared_ptr<const std::function<void()>> on_release;
};

void release_chunk(void* /*data*/, void* hint) {
  detail::taken_back(hint);
  auto* hold = static_cast<ChunkHold*>(hint);
  const auto on_release = std::move(hold->on_release);
  delete hold;
  if (on_release && *on_release) (*on_release)();
}

zmq::message_t chunk_of(zmq::message_t& payload, std::uint64_t offset, std::size_t size,
                        std::shared_ptr<const std::function<void()>> on_release) {
  auto hold = std::make_unique<ChunkHold>();
  hold->payload.copy(payload);  // shares the buffer
  hold->on_release = std::move(on_release);
  char* data = static_cast<char*>(hold->payload.data()) + offset;
  zmq::message_t chunk(data, size, &release_chunk, hold.get());
  detail::handed_over(hold.release());
  return chunk;
}

}  // namespace

void DeliveryStreams::push_item(protocol::Deliver&& deliver) {
  groups_.insert(deliver.group);
  std::string group = deliver.group;
  waiting_.push_back(Waiting{std::move(deliver), std::move(group)});
}

bool DeliveryStreams::push_last_value(const std::string& group) {
  if (!last_values_.insert(group).second) return false;
  groups_.insert(group);
  waiting_.push_back(Waiting{std::nullopt, group});
  return true;
}

bool DeliveryStreams::involves(const std::string& group) const {
  return (active_ && active_->deliver.group == group) || groups_.count(group) != 0;
}

std::optional<DeliveryStreams::Waiting> DeliveryStreams::take_waiting() {
  if (waiting_.empty()) return std::nullopt;
  Waiting next = std::move(waiting_.front());
  waiting_.pop_front();
  groups_.erase(groups_.find(next.group));
  if (!next.deliver) last_values_.erase(next.group);
  return next;
}

void DeliveryStreams::start(protocol::Deliver&& deliver) { active_ = Active{std::move(deliver), false, 0}; }

bool DeliveryStreams::all_sent() const noexcept {
  return active_ && active_->begun && active_->offset == active_->deliver.payload.size();
}

protocol::BrokerMessage DeliveryStreams::next(const std::shared_ptr<const std::function<void()>>& on_release) {
  protocol::Deliver& d = active_->deliver;
  if (!active_->begun) {
    active_->begun = true;
    return protocol::DeliverBegin{d.group, d.kind, d.delivery_id, d.attempt, d.object, d.payload.size()};
  }
  const std::uint64_t offset = active_->offset;
  const std::size_t size = std::min<std::uint64_t>(protocol::chunk_size, d.payload.size() - offset);
  active_->offset += size;
  return protocol::DeliverChunk{d.delivery_id, offset, chunk_of(d.payload, offset, size, on_release)};
}

bool DeliveryStreams::give_back(const protocol::BrokerMessage& message) {
  if (!active_) return false;
  if (const auto* begin = std::get_if<protocol::DeliverBegin>(&message)) {
    if (begin->delivery_id != active_->deliver.delivery_id) return false;
    active_->begun = false;
    active_->offset = 0;
    held_back_ = true;
    return true;
  }
  const auto* chunk = std::get_if<protocol::DeliverChunk>(&message);
  if (chunk == nullptr || chunk->delivery_id != active_->deliver.delivery_id) return false;
  active_->offset = std::min(active_->offset, chunk->offset);
  held_back_ = true;
  return true;
}

std::optional<std::uint64_t> DeliveryStreams::drop_group(const std::string& group) {
  std::erase_if(waiting_, [&](const Waiting& w) { return w.group == group; });
  groups_.erase(group);
  last_values_.erase(group);
  if (!active_ || active_->deliver.group != group) return std::nullopt;
  const bool begun = active_->begun;
  const std::uint64_t id = active_->deliver.delivery_id;
  active_.reset();
  return begun ? std::optional(id) : std::nullopt;
}

}  // namespace zrelay::broker
