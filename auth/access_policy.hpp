#pragma once
// Decides whether an authenticated client may do an action on a group (see AccessRule).
#include <string_view>
#include <vector>

#include <zrelay/access_rule.hpp>

#include "auth/identity.hpp"

namespace zrelay::auth {

class AccessPolicy {
 public:
  // No rules: every group action is allowed, stats is not. AccessDefault::automatic allows
  // what no rule matches only while no rule is about a group action (rules granting only stats
  // leave the groups open).
  AccessPolicy() = default;
  // Throws Error(configuration) for a rule without clients or actions, or a malformed client entry.
  AccessPolicy(std::vector<AccessRule> rules, AccessDefault unmatched);

  // Denied if a matching rule denies it; else allowed if one allows it; else the default,
  // which never allows stats.
  [[nodiscard]] bool permits(const Identity& client, Action action, std::string_view group) const;
  [[nodiscard]] const std::vector<AccessRule>& rules() const noexcept { return rules_; }

 private:
  [[nodiscard]] static bool matches(const AccessRule& rule, const Identity& client, Action action, std::string_view group);

  std::vector<AccessRule> rules_;
  bool allow_unmatched_ = true;
};

// Shell-style match of `text` against `pattern`: '*' any run of characters, '?' one character
// (a UTF-8 character: its lead byte and continuation bytes).
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace zrelay::auth
