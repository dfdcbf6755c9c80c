#include "auth/access_policy.hpp"

#include <algorithm>

#include <zrelay/error.hpp>

namespace zrelay {

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::join: return "join";
    case Action::broadcast: return "broadcast";
    case Action::produce: return "produce";
    case Action::consume: return "consume";
    case Action::stats: return "stats";
  }
  return "unknown";
}

std::optional<Actions> parse_actions(std::string_view name) noexcept {
  constexpr Action all[] = {Action::join, Action::broadcast, Action::produce, Action::consume, Action::stats};
  for (const Action action : all) {
    if (name == to_string(action)) return static_cast<Actions>(action);
  }
  if (name == "all") {
    return static_cast<Actions>(static_cast<Actions>(Action::join) | static_cast<Actions>(Action::broadcast) |
                                static_cast<Actions>(Action::produce) | static_cast<Actions>(Action::consume));
  }
  return std::nullopt;
}

namespace auth {
namespace {

constexpr std::size_t z85_key_length = 40;

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

void check_client_entry(const std::string& entry) {
  const auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::configuration, "authorization rule: client '" + entry + "' " + why);
  };
  if (entry.empty()) bad("is empty");
  if (starts_with(entry, "key:") && entry.size() != 4 + z85_key_length) bad("is not key: and a 40-character Z85 key");
  if (starts_with(entry, "name:") && entry.size() == 5) bad("has no name after name:");
  if (starts_with(entry, "meta:") && entry.find('=') == std::string::npos) bad("is not meta:KEY=VALUE");
}

void check_rule(const AccessRule& rule) {
  if (rule.clients.empty()) throw Error(ErrorCode::configuration, "authorization rule without clients");
  if (rule.allow == 0 && rule.deny == 0) throw Error(ErrorCode::configuration, "authorization rule without actions");
  for (const std::string& client : rule.clients) check_client_entry(client);
}

bool has_meta(const Identity& client, std::string_view key_value) {
  const auto equals = key_value.find('=');
  const std::string_view key = key_value.substr(0, equals);
  const std::string_view value = key_value.substr(equals + 1);
  return std::any_of(client.metadata.begin(), client.metadata.end(),
                     [&](const auto& meta) { return meta.first == key && meta.second == value; });
}

bool names(std::string_view entry, const Identity& client) {
  if (entry == "*") return true;
  if (starts_with(entry, "key:")) return entry.substr(4) == client.key;
  if (starts_with(entry, "name:")) return entry.substr(5) == client.name;
  if (starts_with(entry, "meta:")) return has_meta(client, entry.substr(5));
  return entry == client.name || (entry.size() == z85_key_length && entry == client.key);
}

}  // namespace

AccessPolicy::AccessPolicy(std::vector<AccessRule> rules, AccessDefault unmatched) : rules_(std::move(rules)) {
  for (const AccessRule& rule : rules_) check_rule(rule);
  const auto about_groups = [](const AccessRule& rule) {
    return ((rule.allow | rule.deny) & ~static_cast<Actions>(Action::stats)) != 0;
  };
  allow_unmatched_ = unmatched == AccessDefault::allow ||
                     (unmatched == AccessDefault::automatic && std::none_of(rules_.begin(), rules_.end(), about_groups));
}

bool AccessPolicy::matches(const AccessRule& rule, const Identity& client, Action action, std::string_view group) {
  if (std::none_of(rule.clients.begin(), rule.clients.end(), [&](const std::string& e) { return names(e, client); })) {
    return false;
  }
  if (action == Action::stats) return true;
  return std::any_of(rule.groups.begin(), rule.groups.end(), [&](const std::string& p) { return glob_match(p, group); });
}

bool AccessPolicy::permits(const Identity& client, Action action, std::string_view group) const {
  const auto bit = static_cast<Actions>(action);
  bool allowed = false;
  for (const AccessRule& rule : rules_) {
    if (((rule.allow | rule.deny) & bit) == 0 || !matches(rule, client, action, group)) continue;
    if ((rule.deny & bit) != 0) return false;
    allowed = true;
  }
  return allowed || (allow_unmatched_ && action != Action::stats);
}

namespace {

// The bytes of the UTF-8 character at `i`: its lead byte and the continuation bytes after it
// (a stray continuation byte counts as a character of its own).
std::size_t character_length(std::string_view text, std::size_t i) noexcept {
  std::size_t end = i + 1;
  while (end < text.size() && end - i < 4 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  return end - i;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;  // where the last '*' was, to try it on one more character
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      t += character_length(text, t);
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      star_text += character_length(text, star_text);
      t = star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace auth
}  // namespace zrelay
