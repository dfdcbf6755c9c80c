#pragma once
// zrelay's one exception type: every fault the library reports carries a code.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace zrelay {

// Codes 1..99 are also carried on the wire in ERROR messages (see docs/protocol.md);
// codes from 100 up are local to the library.
enum class ErrorCode : std::uint16_t {
  ok = 0,
  // --- wire codes (broker -> endpoint) ---
  malformed_message = 1,    // frames did not parse
  bad_version = 2,          // signature or protocol version not supported
  hello_expected = 3,       // command sent before HELLO
  unknown_group = 4,        // group not in the broker's accepted groups
  group_full = 5,           // group reached max_count members
  queue_full = 6,           // group queue at max_consumables: item refused
  item_dropped = 7,         // an older queued item was dropped to make room (drop-oldest policy)
  too_large = 8,            // message over the broker's size limit
  not_member = 9,           // command requires membership of the group
  too_many_groups = 10,     // broker or client group limit reached
  invalid_argument = 11,    // bad count, empty group name, ...
  not_authorized = 12,      // key not allowed
  internal = 13,            // broker fault
  over_budget = 14,         // the broker's memory budget for payloads is used up: item refused
  storage_failed = 15,      // a durable group's store is full or failing: item refused, not stored
  // --- local codes ---
  timeout = 100,            // a deadline passed (connect, join, ...)
  connection_failed = 101,  // transport-level failure
  closed = 102,             // the endpoint was stopped
  decode_failed = 103,      // payload bytes corrupt or not a zrelay Boost payload
  type_mismatch = 104,      // payload holds another type than requested
  certificate = 105,        // certificate file missing, malformed or unsafe
  configuration = 106,      // bad options
  io = 107,                 // file-system error
};

[[nodiscard]] std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace zrelay
