#pragma once
// What an endpoint's connection to its broker is doing, and what happened to it.
#include <cstdint>
#include <string>
#include <string_view>

namespace zrelay {

enum class ConnectionState : std::uint8_t {
  connecting,    // the first session is being opened
  connected,     // a session is open: objects flow
  reconnecting,  // the session was lost; a new one is being opened (objects wait, nothing is dropped)
  stopping,      // stop() is sending what is left, then BYE
  stopped,
  failed,        // for good: see the event's detail (or the error the calls throw)
};

[[nodiscard]] std::string_view to_string(ConnectionState state) noexcept;

struct ConnectionEvent {
  ConnectionState state = ConnectionState::connecting;
  std::string detail;
  // Set on the `connected` event of a new session with a broker process other than the last
  // one: the queues, last values and unacknowledged items of the old process are gone.
  bool broker_restarted = false;
  // On a new session: objects sent again because the broker had not confirmed them.
  std::uint64_t resent = 0;
  // On `reconnecting`: produced items received and not yet taken, discarded here because the
  // broker gives them to a consumer again (at-least-once).
  std::uint64_t returned_items = 0;
};

// Counters of one endpoint since it started.
// Objects over 1 MiB on their way (they travel in chunks of 1 MiB): bytes so far.
struct TransferProgress {
  std::uint64_t sending_total = 0;    // the object this endpoint uploads now; 0: none
  std::uint64_t sending_done = 0;     // of it, bytes handed to the connection
  std::uint64_t receiving_total = 0;  // the objects arriving now, added up; 0: none
  std::uint64_t receiving_done = 0;   // of them, bytes received
};

struct EndpointStatistics {
  std::uint64_t sessions = 0;            // sessions opened (1 + reconnections)
  std::uint64_t resent = 0;              // objects sent again after a lost session
  std::uint64_t acks_sent = 0;           // produced items acknowledged
  std::uint64_t redelivered = 0;         // produced items received with attempt > 1
  std::uint64_t returned_items = 0;      // produced items discarded locally at a lost session
  // Older broadcasts dropped unread at max_received_broadcasts or max_received_broadcast_bytes.
  std::uint64_t dropped_broadcasts = 0;
  // Refusals and connection events not kept because 65536 refusals or 1000 events were waiting
  // unread (take_refusals(), take_connection_events()): the newest are dropped, the oldest stay.
  std::uint64_t dropped_refusals = 0;
  std::uint64_t dropped_events = 0;
  TransferProgress transfers;  // as of the I/O thread's last turn (after every chunk)
};

}  // namespace zrelay
