#pragma once
// BrokerCore's side of the store: what the turn changed in durable groups, as a StoreBatch for
// the loop to commit, and whether one more object fits the store (max_store_bytes and the room
// the loop last measured on its file system). No files here: the core stays sans-I/O.
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "broker/group.hpp"
#include "broker/producer_table.hpp"
#include "broker/store_batch.hpp"

namespace zrelay::broker {

class DurableLog {
 public:
  explicit DurableLog(std::uint64_t max_store_bytes) : max_bytes_(max_store_bytes) {}

  // False if `records` records of `payload_bytes` each would take the store past
  // max_store_bytes, or past the room on its file system (less what this turn writes already,
  // counted twice: LMDB copies pages on write).
  [[nodiscard]] bool fits(std::uint64_t payload_bytes, std::uint32_t records = 1) const noexcept;
  void set_room(std::uint64_t bytes) noexcept { room_ = bytes; }

  void created(const GroupOptions& options);
  void queued(const std::string& group, QueuedItem& item);
  void delivered(const std::string& group, const QueuedItem& item);  // its attempts changed
  void removed(const std::string& group, const QueuedItem& item);   // acknowledged or dropped
  // `group`'s last value is now `payload`; `previous` bytes were stored for the one before.
  void last_value(const std::string& group, const ObjectId& object, zmq::message_t& payload, std::size_t previous,
                  bool had_one);
  // `seq` of `producer` was applied to a durable group: deduplicated after a restart too.
  void applied(const ProducerTable::Key& producer, std::uint64_t seq);
  // An upload of `seq` to a durable group began: new after a restart until applied (at most
  // ProducerTable::max_uploading per producer, as in the table).
  void uploading(const ProducerTable::Key& producer, std::uint64_t seq);
  // Forgets the producers the dedupe table no longer remembers.
  void expire_producers(const ProducerTable& table);
  // What the store holds: its records counted (a restart), and the producers it remembers.
  void restored(const StoredState& state);

  // Writes that replies confirm (new items, last values, applied seqs): synced before the replies.
  [[nodiscard]] bool confirming() const noexcept { return confirming_; }
  // Any writes: acknowledgements and attempt counts need no reply to wait for them.
  [[nodiscard]] bool pending() const noexcept { return !batch_.empty() || !changed_producers_.empty(); }
  [[nodiscard]] StoreBatch take();
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::uint64_t max_bytes() const noexcept { return max_bytes_; }

 private:
  std::uint64_t max_bytes_;
  std::uint64_t room_ = UINT64_MAX;  // no store measured yet: the file system is not the bound
  std::uint64_t bytes_ = 0;          // what the records count against max_bytes_
  std::uint64_t turn_bytes_ = 0;     // payload bytes in batch_
  StoreBatch batch_;
  bool confirming_ = false;
  struct Producer {
    SeqWindow seqs;
    std::set<std::uint64_t> uploading;
  };
  Producer& producer(const ProducerTable::Key& key);

  std::map<ProducerTable::Key, Producer> producers_;
  std::set<ProducerTable::Key> changed_producers_;  // this turn's
};

}  // namespace zrelay::broker
