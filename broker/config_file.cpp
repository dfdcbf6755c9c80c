#include "broker/config_file.hpp"

#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>

#include <toml++/toml.h>
#include <zrelay/error.hpp>

#include "auth/access_policy.hpp"

namespace zrelay::broker {
namespace {

const std::set<std::string> log_levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// Reads values out of the parsed file; every error names the file, line and column.
class ConfigReader {
 public:
  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& what) const {
    std::ostringstream text;
    text << file_ << ':' << where.begin.line << ':' << where.begin.column << ": " << what;
    throw Error(ErrorCode::configuration, text.str());
  }

  // Fails on a key the section does not know: a typo must not be ignored silently.
  void check_keys(const toml::table& table, const std::string& section, const std::set<std::string>& known) const {
    for (auto&& [key, node] : table) {
      if (known.count(std::string(key.str())) == 0) {
        fail(key.source(), "unknown key '" + std::string(key.str()) + "' in " + section);
      }
    }
  }

  const toml::table* table(const toml::table& parent, const char* key) const {
    const toml::node* node = parent.get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) fail(node->source(), std::string(key) + " must be a table ([" + key + "])");
    return node->as_table();
  }

  std::string text(const toml::node& node, const std::string& name) const {
    if (!node.is_string()) fail(node.source(), name + " must be a string");
    return node.as_string()->get();
  }

  std::vector<std::string> texts(const toml::node& node, const std::string& name) const {
    if (node.is_string()) return {node.as_string()->get()};
    if (!node.is_array()) fail(node.source(), name + " must be a string or an array of strings");
    std::vector<std::string> out;
    for (const toml::node& item : *node.as_array()) out.push_back(text(item, name + " entries"));
    return out;
  }

  std::uint64_t number(const toml::node& node, const std::string& name, std::uint64_t min, std::uint64_t max) const {
    if (!node.is_integer()) fail(node.source(), name + " must be an integer");
    const std::int64_t value = node.as_integer()->get();
    if (value < 0 || static_cast<std::uint64_t>(value) < min || static_cast<std::uint64_t>(value) > max) {
      fail(node.source(), name + " must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return static_cast<std::uint64_t>(value);
  }

  // An integer of bytes, or a string with a unit: "64 MiB", "1GiB", "512KiB", "100B".
  std::uint64_t bytes(const toml::node& node, const std::string& name, std::uint64_t min) const {
    if (node.is_integer()) return number(node, name, min, std::numeric_limits<std::int64_t>::max());
    if (!node.is_string()) fail(node.source(), name + " must be a number of bytes or a string like \"64 MiB\"");
    const std::string& value = node.as_string()->get();
    std::size_t end = 0;
    std::uint64_t amount = 0;
    try {
      amount = std::stoull(value, &end);
    } catch (const std::exception&) {
      fail(node.source(), name + ": '" + value + "' is not a size like \"64 MiB\"");
    }
    std::string unit = value.substr(end);
    unit.erase(0, unit.find_first_not_of(' '));
    const std::uint64_t scale = unit.empty() || unit == "B" ? 1
                                : unit == "KiB"             ? 1ull << 10
                                : unit == "MiB"             ? 1ull << 20
                                : unit == "GiB"             ? 1ull << 30
                                                            : 0;
    if (scale == 0) fail(node.source(), name + ": unknown unit '" + unit + "' (B, KiB, MiB or GiB)");
    if (amount > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / scale || amount * scale < min) {
      fail(node.source(), name + ": '" + value + "' is out of range");
    }
    return amount * scale;
  }

 private:
  std::string file_;
};

void read_broker(const ConfigReader& in, const toml::table& t, BrokerConfig& config) {
  in.check_keys(t, "[broker]", {"listen", "certificate", "authorized_keys", "state_dir", "data_dir", "durable", "io_threads", "admins"});
  if (const auto* n = t.get("listen")) {
    auto addresses = in.texts(*n, "broker.listen");
    if (addresses.empty()) in.fail(n->source(), "broker.listen needs at least one address");
    config.options.bind = addresses.front();
    config.options.also_bind.assign(addresses.begin() + 1, addresses.end());
  }
  if (const auto* n = t.get("certificate")) config.certificate = in.text(*n, "broker.certificate");
  if (const auto* n = t.get("authorized_keys")) config.authorized_keys = in.text(*n, "broker.authorized_keys");
  if (const auto* n = t.get("state_dir")) config.state_dir = in.text(*n, "broker.state_dir");
  if (const auto* n = t.get("data_dir")) config.data_dir = in.text(*n, "broker.data_dir");
  if (const auto* n = t.get("durable")) config.options.limits.durable_groups = in.texts(*n, "broker.durable");
  if (const auto* n = t.get("io_threads")) config.options.io_threads = static_cast<int>(in.number(*n, "broker.io_threads", 1, 64));
  if (const auto* n = t.get("admins")) config.admins = in.texts(*n, "broker.admins");
}

void read_limits(const ConfigReader& in, const toml::table& t, BrokerLimits& limits) {
  in.check_keys(t, "[limits]",
                {"max_message_size", "max_payload_bytes", "max_client_pending_bytes", "max_client_unacked", "max_groups",
                 "max_consumables", "heartbeat_ms", "liveness_ms", "max_store_bytes"});
  if (const auto* n = t.get("max_message_size")) limits.max_message_size = in.bytes(*n, "limits.max_message_size", 1);
  if (const auto* n = t.get("max_payload_bytes")) limits.max_payload_bytes = in.bytes(*n, "limits.max_payload_bytes", 1);
  if (const auto* n = t.get("max_store_bytes")) limits.max_store_bytes = in.bytes(*n, "limits.max_store_bytes", 1);
  if (const auto* n = t.get("max_client_pending_bytes")) {
    limits.max_client_pending_bytes = in.bytes(*n, "limits.max_client_pending_bytes", 1);
  }
  if (const auto* n = t.get("max_client_unacked")) {
    limits.max_client_unacked = in.number(*n, "limits.max_client_unacked", 1, 1ull << 32);
  }
  if (const auto* n = t.get("max_groups")) limits.max_groups = in.number(*n, "limits.max_groups", 1, 1u << 24);
  if (const auto* n = t.get("max_consumables")) {
    limits.default_group.max_consumables = in.number(*n, "limits.max_consumables", 0, 1ull << 32);
  }
  if (const auto* n = t.get("heartbeat_ms")) limits.heartbeat = std::chrono::milliseconds(in.number(*n, "limits.heartbeat_ms", 10, 3600000));
  if (const auto* n = t.get("liveness_ms")) limits.liveness = std::chrono::milliseconds(in.number(*n, "limits.liveness_ms", 20, 86400000));
  if (limits.liveness <= limits.heartbeat) {
    const auto* n = t.get("liveness_ms") != nullptr ? t.get("liveness_ms") : t.get("heartbeat_ms");
    if (n != nullptr) in.fail(n->source(), "limits.liveness_ms must be longer than limits.heartbeat_ms");
  }
}

Overflow overflow_of(const ConfigReader& in, const toml::node& node) {
  const std::string policy = in.text(node, "overflow");
  if (policy == "refuse") return Overflow::refuse;
  if (policy == "drop-oldest") return Overflow::drop_oldest;
  in.fail(node.source(), "overflow must be \"refuse\" or \"drop-oldest\", not \"" + policy + "\"");
}

void read_groups(const ConfigReader& in, const toml::node& node, BrokerLimits& limits) {
  if (!node.is_array_of_tables()) in.fail(node.source(), "groups must be an array of tables ([[groups]])");
  std::set<std::string> seen;
  for (const toml::node& item : *node.as_array()) {
    const toml::table& t = *item.as_table();
    in.check_keys(t, "[[groups]]", {"name", "max_count", "max_consumables", "overflow", "durable"});
    const toml::node* name = t.get("name");
    if (name == nullptr) in.fail(t.source(), "[[groups]] needs a name");
    GroupOptions group;
    group.name = in.text(*name, "groups.name");
    if (group.name.empty() || !seen.insert(group.name).second) {
      in.fail(name->source(), "group name '" + group.name + "' is empty or given twice");
    }
    if (const auto* n = t.get("max_count")) group.max_count = in.number(*n, "groups.max_count", 0, 1u << 24);
    if (const auto* n = t.get("max_consumables")) group.max_consumables = in.number(*n, "groups.max_consumables", 0, 1ull << 32);
    if (const auto* n = t.get("overflow")) group.overflow = overflow_of(in, *n);
    if (const auto* n = t.get("durable")) {
      if (!n->is_boolean()) in.fail(n->source(), "groups.durable must be true or false");
      group.durable = n->value_or(false);
    }
    limits.accepted_groups.push_back(std::move(group));
  }
}

void read_log(const ConfigReader& in, const toml::table& t, BrokerConfig& config) {
  in.check_keys(t, "[log]", {"level"});
  if (const auto* n = t.get("level")) {
    config.log_level = in.text(*n, "log.level");
    if (log_levels.count(config.log_level) == 0) {
      in.fail(n->source(), "log.level must be one of trace, debug, info, warn, error, critical, off");
    }
  }
}

Actions actions_of(const ConfigReader& in, const toml::node& node, const std::string& name) {
  Actions out = 0;
  const auto entries = in.texts(node, name);
  for (const std::string& entry : entries) {
    const auto bits = parse_actions(entry);
    if (!bits) in.fail(node.source(), "unknown action '" + entry + "' in " + name + " (join, broadcast, produce, consume, stats, all)");
    out = static_cast<Actions>(out | *bits);
  }
  return out;
}

AccessRule rule_of(const ConfigReader& in, const toml::table& t) {
  in.check_keys(t, "[[authorization.rules]]", {"clients", "groups", "allow", "deny"});
  AccessRule rule;
  const toml::node* clients = t.get("clients");
  if (clients == nullptr) in.fail(t.source(), "an authorization rule needs clients");
  rule.clients = in.texts(*clients, "clients");
  if (const auto* n = t.get("groups")) rule.groups = in.texts(*n, "groups");
  if (const auto* n = t.get("allow")) rule.allow = actions_of(in, *n, "allow");
  if (const auto* n = t.get("deny")) rule.deny = actions_of(in, *n, "deny");
  if (rule.allow == 0 && rule.deny == 0) in.fail(t.source(), "an authorization rule needs allow or deny actions");
  try {
    (void)auth::AccessPolicy({rule}, AccessDefault::automatic);  // checks the client entries
  } catch (const Error& e) {
    in.fail(clients->source(), e.what());
  }
  return rule;
}

void read_authorization(const ConfigReader& in, const toml::table& t, BrokerOptions& options) {
  in.check_keys(t, "[authorization]", {"default", "rules"});
  if (const auto* n = t.get("default")) {
    const std::string value = in.text(*n, "authorization.default");
    if (value == "allow") {
      options.access_default = AccessDefault::allow;
    } else if (value == "deny") {
      options.access_default = AccessDefault::deny;
    } else {
      in.fail(n->source(), "authorization.default must be \"allow\" or \"deny\"");
    }
  }
  if (const auto* n = t.get("rules")) {
    if (!n->is_array_of_tables()) in.fail(n->source(), "authorization.rules must be [[authorization.rules]] tables");
    options.access_rules.clear();
    for (const toml::node& item : *n->as_array()) options.access_rules.push_back(rule_of(in, *item.as_table()));
  }
}

}  // namespace

void read_config_file(const std::filesystem::path& file, BrokerConfig& config) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw Error(ErrorCode::configuration, "config file '" + file.string() + "' does not exist or is not a file");
  }
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(ErrorCode::configuration, "cannot read config file '" + file.string() + "'");
  read_config_text(text, file.string(), config);
}

void read_config_text(std::string_view text, const std::string& name, BrokerConfig& config) {
  const ConfigReader in(name);
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    in.fail(e.source(), std::string(e.description()));
  }
  in.check_keys(root, "the file", {"broker", "limits", "groups", "log", "authorization"});
  if (const auto* t = in.table(root, "broker")) read_broker(in, *t, config);
  if (const auto* t = in.table(root, "limits")) read_limits(in, *t, config.options.limits);
  if (const auto* n = root.get("groups")) read_groups(in, *n, config.options.limits);
  if (const auto* t = in.table(root, "log")) read_log(in, *t, config);
  if (const auto* t = in.table(root, "authorization")) read_authorization(in, *t, config.options);
}

}  // namespace zrelay::broker
