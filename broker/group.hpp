#pragma once
// One group's state: members, last value, work queue and the credits of its consumers.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>
#include <zrelay/broker_options.hpp>
#include <zrelay/object_id.hpp>

#include "broker/payload_account.hpp"

namespace zrelay::broker {

using ClientId = std::string;  // ROUTER routing id, assigned by libzmq

// A second message of the same bytes: large payloads share their buffer (reference-counted).
[[nodiscard]] inline zmq::message_t share(zmq::message_t& payload) {
  zmq::message_t copy;
  copy.copy(payload);
  return copy;
}

struct QueuedItem {
  zmq::message_t payload;
  ClientId producer;
  std::uint64_t seq = 0;
  std::uint64_t id = 0;        // the delivery id, kept when the item is delivered again
  std::uint32_t attempts = 0;  // deliveries so far
  Charge charge;               // what the item costs besides its payload, in the broker's budget
  ObjectId object;             // stable across redeliveries: (producer endpoint id, seq, copy)
};

struct GroupStats {
  std::uint64_t broadcasts = 0;
  std::uint64_t produced = 0;   // items accepted into the queue or handed over at once
  std::uint64_t delivered = 0;  // deliveries of produced items, redeliveries included
  std::uint64_t acked = 0;
  std::uint64_t redelivered = 0;  // items back in the queue because their holder left unacknowledged
  std::uint64_t refused = 0;
  std::uint64_t dropped = 0;
  std::uint64_t broadcasts_skipped = 0;
  std::uint64_t broadcast_deliveries = 0;
};

class Group {
 public:
  explicit Group(GroupOptions options) : options_(std::move(options)) {}

  [[nodiscard]] const std::string& name() const noexcept { return options_.name; }
  [[nodiscard]] const GroupOptions& options() const noexcept { return options_; }

  [[nodiscard]] bool has_member(const ClientId& client) const;
  [[nodiscard]] bool full() const noexcept;
  void add_member(const ClientId& client);
  void remove_member(const ClientId& client);
  [[nodiscard]] const std::vector<ClientId>& members() const noexcept { return members_; }

  void set_last_value(zmq::message_t& payload, const ObjectId& object);  // shares the buffer of large messages
  [[nodiscard]] const ObjectId& last_value_object() const noexcept { return last_value_object_; }
  [[nodiscard]] zmq::message_t* last_value() noexcept;
  [[nodiscard]] std::optional<std::size_t> last_value_size() const noexcept;

  void add_credits(const ClientId& client, std::int64_t credits);
  [[nodiscard]] std::int64_t credits(const ClientId& client) const;
  // The next credit holder in turn, one of its credits consumed; nothing if nobody holds credits.
  [[nodiscard]] std::optional<ClientId> take_credit();
  void return_credit(const ClientId& client);
  // The client gets no more items until it sends credits again.
  void drop_credits(const ClientId& client);
  // Credits all members hold: items the group could hand out right now.
  [[nodiscard]] std::int64_t outstanding_credits() const noexcept;
  // A suspended client keeps its credits but gets no items until resumed.
  void suspend(const ClientId& client);
  void resume(const ClientId& client);

  // Appends an item. With a full queue: Overflow::refuse gives the item back,
  // Overflow::drop_oldest queues it and gives back the oldest one.
  [[nodiscard]] std::optional<QueuedItem> push(QueuedItem&& item);
  void push_front(QueuedItem&& item);
  [[nodiscard]] std::optional<QueuedItem> pop();
  [[nodiscard]] std::size_t queue_size() const noexcept { return queue_.size(); }
  [[nodiscard]] bool queue_full() const noexcept;

  GroupStats stats;

 private:
  void remove_from_ready(const ClientId& client);

  GroupOptions options_;
  std::vector<ClientId> members_;  // in join order
  std::optional<zmq::message_t> last_value_;
  ObjectId last_value_object_;
  std::deque<QueuedItem> queue_;
  std::unordered_map<ClientId, std::int64_t> credits_;
  std::deque<ClientId> ready_;  // members with credits, in turn order; each at most once
};

}  // namespace zrelay::broker
