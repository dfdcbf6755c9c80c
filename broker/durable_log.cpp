#include "broker/durable_log.hpp"

#include <algorithm>
#include <utility>

namespace zrelay::broker {
namespace {

// What LMDB may need besides the records of a turn: branch and meta pages.
constexpr std::uint64_t turn_slack = 1 << 20;

StoredProducerKey stored(const ProducerTable::Key& key) { return {key.user_id, key.endpoint}; }

}  // namespace

bool DurableLog::fits(std::uint64_t payload_bytes, std::uint32_t records) const noexcept {
  const std::uint64_t record = (payload_bytes + 2 * store_record_cost) * records;
  if (bytes_ + record > max_bytes_) return false;
  const std::uint64_t needed = 2 * (turn_bytes_ + record) + turn_slack;
  return needed <= room_;
}

void DurableLog::created(const GroupOptions& options) {
  bytes_ += store_record_cost;
  confirming_ = true;
  batch_.ops.emplace_back(store_op::PutGroup{options});
}

void DurableLog::queued(const std::string& group, QueuedItem& item) {
  bytes_ += item.payload.size() + 2 * store_record_cost;
  turn_bytes_ += item.payload.size();
  confirming_ = true;
  batch_.ops.emplace_back(store_op::PutItem{group, item.id, item.object, item.attempts, share(item.payload)});
}

void DurableLog::delivered(const std::string& group, const QueuedItem& item) {
  confirming_ = true;
  batch_.ops.emplace_back(store_op::PutAttempts{group, item.id, item.attempts});
}

void DurableLog::removed(const std::string& group, const QueuedItem& item) {
  bytes_ -= std::min(bytes_, item.payload.size() + 2 * store_record_cost);
  batch_.ops.emplace_back(store_op::EraseItem{group, item.id, item.payload.size()});
}

void DurableLog::last_value(const std::string& group, const ObjectId& object, zmq::message_t& payload,
                            std::size_t previous, bool had_one) {
  bytes_ -= std::min<std::uint64_t>(bytes_, had_one ? previous + store_record_cost : 0);
  bytes_ += payload.size() + store_record_cost;
  turn_bytes_ += payload.size();
  confirming_ = true;
  batch_.ops.emplace_back(store_op::PutLastValue{group, object, share(payload)});
}

DurableLog::Producer& DurableLog::producer(const ProducerTable::Key& key) {
  auto [it, added] = producers_.try_emplace(key);
  if (added) bytes_ += store_record_cost;
  confirming_ = true;
  changed_producers_.insert(key);  // written once per turn, at take()
  return it->second;
}

void DurableLog::applied(const ProducerTable::Key& key, std::uint64_t seq) {
  Producer& p = producer(key);
  p.seqs.mark(seq);
  p.uploading.erase(seq);
}

void DurableLog::uploading(const ProducerTable::Key& key, std::uint64_t seq) {
  auto& uploads = producer(key).uploading;
  uploads.insert(seq);
  if (uploads.size() > ProducerTable::max_uploading) uploads.erase(uploads.begin());
}

void DurableLog::expire_producers(const ProducerTable& table) {
  for (auto it = producers_.begin(); it != producers_.end();) {
    if (table.remembers(it->first)) {
      ++it;
      continue;
    }
    bytes_ -= std::min<std::uint64_t>(bytes_, store_record_cost);
    batch_.ops.emplace_back(store_op::EraseProducer{stored(it->first)});
    changed_producers_.erase(it->first);
    it = producers_.erase(it);
  }
}

void DurableLog::restored(const StoredState& state) {
  bytes_ = state.bytes;
  for (const store_op::PutProducer& p : state.producers) {
    producers_[{p.key.user_id, p.key.endpoint}] = Producer{p.seqs, {p.uploading.begin(), p.uploading.end()}};
  }
}

StoreBatch DurableLog::take() {
  for (const ProducerTable::Key& key : changed_producers_) {
    if (const auto it = producers_.find(key); it != producers_.end()) {
      batch_.ops.emplace_back(store_op::PutProducer{stored(key), it->second.seqs, {it->second.uploading.begin(), it->second.uploading.end()}});
    }
  }
  changed_producers_.clear();
  turn_bytes_ = 0;
  confirming_ = false;
  return std::exchange(batch_, StoreBatch{});
}

}  // namespace zrelay::broker
