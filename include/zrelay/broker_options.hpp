#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <zrelay/access_rule.hpp>
#include <zrelay/certificate.hpp>
#include <zrelay/log.hpp>

namespace zrelay {

// What a full work queue does with one more item.
enum class Overflow : std::uint8_t {
  refuse,       // the new item is refused; its producer gets ErrorCode::queue_full
  drop_oldest,  // the oldest queued item is dropped; its producer gets ErrorCode::item_dropped
};

struct GroupOptions {
  std::string name;
  std::size_t max_count = 0;             // members; 0 = no limit
  std::size_t max_consumables = 100000;  // items waiting in the queue; 0 = no limit
  Overflow overflow = Overflow::refuse;
  // Its queue, unacknowledged items and last value are kept in the broker's store
  // (BrokerOptions::data_dir) and survive a crash; confirmed only once synced to disk.
  bool durable = false;
};

// Half of the physical memory, at least 1 GiB: the default of BrokerLimits::max_payload_bytes.
[[nodiscard]] std::uint64_t default_payload_budget() noexcept;

// The part of the broker's configuration its logic needs (no sockets, no files).
struct BrokerLimits {
  std::vector<GroupOptions> accepted_groups;  // empty: any group name, with `default_group` limits
  GroupOptions default_group;
  std::size_t max_groups = 10000;
  // The largest object. Objects over 1 MiB travel in chunks of 1 MiB, so this bounds no
  // message on the wire (libzmq's ZMQ_MAXMSGSIZE is 1 MiB + 256 KiB): it is what one upload
  // reserves of the budget at most, and what a receiving endpoint assembles at most.
  std::uint64_t max_message_size = 4ull << 30;
  // Bytes of payloads the broker holds at once: queued and unacknowledged items, last values and
  // deliveries still in libzmq's send queues, and what items (BrokerCore::item_cost), memberships
  // (membership_cost) and waiting replies (Backlog::entry_cost) cost besides payloads, and each
  // copy of a small payload made for a delivery (payloads up to 4 KiB travel inside the header
  // frame). A BROADCAST, PRODUCE or JOIN over it gets over_budget.
  // Default: half of the machine's physical memory (at least 1 GiB), so that the largest
  // object (max_message_size) fits with the defaults on a machine that can hold it.
  std::uint64_t max_payload_bytes = default_payload_budget();
  // Bytes delivered to one client but not yet written to its connection. Past it the client gets
  // no more items (they stay queued for others) and only the newest broadcast of each group.
  std::uint64_t max_client_pending_bytes = 64ull << 20;
  // Deliveries to one client not yet written to its connection, counted like the bytes above.
  // Well below the broker socket's send high-water mark (10000 messages), so that the socket
  // seldom refuses one: a refused delivery is built, tried and put back, work a client that
  // never reads could otherwise make the broker do again and again. Deliveries that wait for
  // the same client leave joined in one message (up to 1024), so this many deliveries are at
  // most as many messages at the socket, and often a few: at 500, a fast broadcaster's batch
  // alone filled it and members skipped values they would have read.
  std::uint64_t max_client_pending_messages = 4096;
  // Produced items delivered to one client and not acknowledged yet. A client at it gets no more
  // items until it acknowledges some (its credits wait).
  std::uint64_t max_client_unacked = 10000;
  // A client sends something (at least a PING) every `heartbeat`; one silent for `liveness` is
  // forgotten: its credits are dropped and its unacknowledged items go back to the queue.
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds liveness{3000};
  // Groups whose names match one of these globs (fnmatch: *, ?, [...]) are durable, as if their
  // GroupOptions said so.
  std::vector<std::string> durable_groups;
  // Bytes the store of durable groups may hold: payloads and store_record_cost per record. A
  // BROADCAST or PRODUCE to a durable group past it, or past the free space of the store's file
  // system, gets storage_failed.
  std::uint64_t max_store_bytes = 64ull << 30;
};

// True if some group may be durable: durable_groups globs, or an accepted group that says so.
[[nodiscard]] bool has_durable_groups(const BrokerLimits& limits) noexcept;

struct BrokerOptions {
  std::string bind = "tcp://127.0.0.1:5555";
  std::vector<std::string> also_bind;  // more addresses to listen on
  Certificate certificate;                       // the broker's key pair (secret needed)
  std::optional<std::filesystem::path> authorized_keys_dir;  // public certificates of allowed clients
  std::vector<Certificate> authorized_keys;      // more allowed clients, e.g. made in-process
  // What each allowed client may do (see AccessRule): with no rules, every group action for
  // everyone and statistics for nobody.
  std::vector<AccessRule> access_rules;
  AccessDefault access_default = AccessDefault::automatic;
  BrokerLimits limits;
  // Where durable groups are stored (an LMDB environment, created if missing). Needed if any
  // group is durable; a store found there is loaded at start.
  std::optional<std::filesystem::path> data_dir;
  int io_threads = 2;  // CURVE crypto runs in libzmq's I/O threads: one thread caps the broker
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds linger{1000};
  std::chrono::milliseconds tick{100};  // timer for retries of deliveries a full peer refused
  // The broker's log: lines at `log_level` and above go to `log_sink`, or with none to standard
  // error with a time stamp (never to standard output, which is the application's).
  LogLevel log_level = LogLevel::info;
  LogSink log_sink;
};

}  // namespace zrelay
