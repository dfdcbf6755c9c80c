#pragma once
// Per-group authorization of the broker: which authenticated clients may do what with which groups.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zrelay {

// What a client asks the broker to do; a rule names a set of them.
enum class Action : std::uint8_t {
  join = 1,       // become a member: receive the group's broadcasts (and its last value)
  broadcast = 2,  // set the group's last value
  produce = 4,    // append to the group's work queue
  consume = 8,    // send READY credits and receive produced items
  stats = 16,     // read the broker's statistics (groups are ignored for this action)
};
using Actions = std::uint8_t;  // a set of Action bits

[[nodiscard]] std::string_view to_string(Action action) noexcept;
// "join", "broadcast", "produce", "consume", "stats", or "all" (the four group actions).
[[nodiscard]] std::optional<Actions> parse_actions(std::string_view name) noexcept;

// A client matches a rule if one of `clients` names it:
//   "*"            every authorized client
//   "key:Z85"      its CURVE public key
//   "name:NAME"    its certificate's "name" metadata (or, without one, its file name)
//   "meta:K=V"     its certificate's metadata K has the value V
//   anything else  its name or, if 40 characters long, its public key
// A group matches if one of `groups` matches it: '*' stands for any run of characters, '?' for one.
struct AccessRule {
  std::vector<std::string> clients;
  std::vector<std::string> groups{"*"};
  Actions allow = 0;
  Actions deny = 0;  // wins over any rule's allow
};

// What an action that no rule allows or denies gets.
enum class AccessDefault : std::uint8_t {
  automatic,  // allow while no rule is about a group action (rules for stats only), deny once one is
  allow,
  deny,
};

}  // namespace zrelay
