#pragma once
// Counters a running broker exposes (Broker::stats()): what it holds and what it refused,
// dropped or delivered again. Nothing the broker refuses or drops goes uncounted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zrelay {

struct GroupStatistics {
  std::string name;
  std::size_t members = 0;
  std::size_t queued = 0;       // items waiting for a credit
  std::size_t unacked = 0;      // items delivered and not yet acknowledged
  std::uint64_t broadcasts = 0;
  std::uint64_t produced = 0;    // items accepted
  std::uint64_t delivered = 0;   // deliveries of produced items, redeliveries included
  std::uint64_t acked = 0;
  std::uint64_t redelivered = 0;  // items given back to the queue because their holder left or died
  std::uint64_t refused = 0;      // items refused with queue_full or over_budget
  std::uint64_t dropped = 0;      // items dropped by the drop-oldest policy (their producer is told)
  std::uint64_t broadcasts_skipped = 0;  // older broadcasts a slow member did not get (it gets the newest)
};

struct BrokerStatistics {
  std::size_t clients = 0;
  std::uint64_t payload_bytes = 0;  // held now, counted against max_payload_bytes
  std::uint64_t expired_clients = 0;     // forgotten after the liveness window
  std::uint64_t overflowed_clients = 0;  // forgotten for leaving too many replies unread
  std::uint64_t late_acks = 0;           // acks for items no longer held by that client
  std::uint64_t refused_over_budget = 0;
  std::uint64_t malformed_messages = 0;
  std::vector<GroupStatistics> groups;
};

}  // namespace zrelay
