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
  std::uint64_t broadcast_deliveries = 0;  // broadcasts (last values) sent to members
  bool has_last_value = false;
  std::size_t last_value_bytes = 0;
  std::int64_t credits = 0;  // items its consumers have asked for and not received yet
};

// One connected client (a session).
struct ClientStatistics {
  std::string name;        // of its certificate (see AccessRule)
  std::string key;         // its CURVE public key, Z85
  std::string hello_name;  // what the endpoint called itself
  std::vector<std::string> groups;
  std::int64_t credits = 0;      // over all its groups
  std::size_t unacked = 0;       // produced items it holds unacknowledged
  std::uint64_t pending_bytes = 0;  // delivered, not yet written to its connection
  std::size_t backlog = 0;          // replies waiting for room in its connection
  std::uint64_t messages_in = 0;
  std::uint64_t deliveries_out = 0;
  std::uint64_t session_ms = 0;     // since its HELLO
  std::uint64_t silent_ms = 0;      // since its last message
};

struct BrokerStatistics {
  std::size_t clients = 0;
  std::uint64_t payload_bytes = 0;   // held now, counted against max_payload_bytes
  std::uint64_t closing_backlog = 0;  // replies still waiting for sessions that said BYE
  std::uint64_t overhead_bytes = 0;  // counted against it too: item costs, copies of small payloads in flight
  std::uint64_t expired_clients = 0;     // forgotten after the liveness window
  std::uint64_t disconnected_clients = 0;  // forgotten when their connection closed
  // Producers (key, endpoint id) remembered for deduplication, and what they cost in the budget
  // (part of overhead_bytes).
  std::uint64_t remembered_producers = 0;
  std::uint64_t producer_bytes = 0;
  std::uint64_t overflowed_clients = 0;  // forgotten for leaving too many replies unread
  std::uint64_t late_acks = 0;           // acks for items no longer held by that client
  std::uint64_t refused_sends = 0;       // messages a client's full send queue refused, tried again later
  std::uint64_t refused_over_budget = 0;
  std::uint64_t refused_storage_failed = 0;  // durable objects refused: the store was full or failing
  std::uint64_t store_bytes = 0;  // what the store of durable groups holds, counted against max_store_bytes
  std::uint64_t malformed_messages = 0;
  std::uint64_t refused_not_authorized = 0;  // actions the authorization rules or the key list refused
  std::uint64_t revoked_clients = 0;         // forgotten because their key was removed
  std::vector<GroupStatistics> groups;
  std::vector<ClientStatistics> sessions;
};

}  // namespace zrelay
