#pragma once
// What one loop turn changed in the durable groups, as BrokerCore tells it: written by
// DurableStore in one transaction, synced before any reply of that turn leaves (group commit).
// BrokerCore only builds these (it never touches files); broker/broker.cpp commits them.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <zmq.hpp>
#include <zrelay/broker_options.hpp>
#include <zrelay/object_id.hpp>

#include "broker/seq_window.hpp"

namespace zrelay::broker {

struct StoredProducerKey {
  std::string user_id;
  EndpointId endpoint{};
};

namespace store_op {
struct PutGroup {  // a durable group exists, with these settings
  GroupOptions options;
};
struct PutItem {  // a produced item queued (id: its delivery id, which orders the queue)
  std::string group;
  std::uint64_t id = 0;
  ObjectId object;
  std::uint32_t attempts = 0;
  zmq::message_t payload;  // shares the queued item's buffer
};
struct PutAttempts {  // an item was delivered once more
  std::string group;
  std::uint64_t id = 0;
  std::uint32_t attempts = 0;
};
struct EraseItem {  // acknowledged, or dropped from a full drop-oldest queue
  std::string group;
  std::uint64_t id = 0;
  std::uint64_t size = 0;  // of its payload: over DurableStore::inline_limit, it has a file to delete
};
struct PutLastValue {
  std::string group;
  ObjectId object;
  zmq::message_t payload;  // shares the group's last value
};
struct PutProducer {  // the seqs of a producer applied to durable groups: its dedupe entry after a restart
  StoredProducerKey key;
  SeqWindow seqs;
  std::vector<std::uint64_t> uploading;  // uploads to durable groups not complete: new whatever the window says
};
struct EraseProducer {  // the dedupe table forgot it
  StoredProducerKey key;
};
}  // namespace store_op

using StoreOp = std::variant<store_op::PutGroup, store_op::PutItem, store_op::PutAttempts, store_op::EraseItem,
                             store_op::PutLastValue, store_op::PutProducer, store_op::EraseProducer>;

struct StoreBatch {
  std::vector<StoreOp> ops;
  [[nodiscard]] bool empty() const noexcept { return ops.empty(); }
};

// What a record counts against BrokerLimits::max_store_bytes: its payload, if any, and this for
// its key and fields (an estimate of what LMDB spends on it, page slack included). An item counts
// twice this: its record and its attempts record.
inline constexpr std::uint64_t store_record_cost = 256;

// What a store holds, read back at start.
struct StoredItem {
  std::uint64_t id = 0;
  ObjectId object;
  std::uint32_t attempts = 0;
  zmq::message_t payload;
};
struct StoredGroup {
  GroupOptions options;
  std::vector<StoredItem> items;  // by id: queue order
  std::optional<std::pair<ObjectId, zmq::message_t>> last_value;
};
struct StoredState {
  std::vector<StoredGroup> groups;
  std::vector<store_op::PutProducer> producers;
  std::uint64_t bytes = 0;  // what the records count against max_store_bytes (see DurableStore::record_bytes)
};

}  // namespace zrelay::broker
