#include "broker/stats_json.hpp"

#include <cstdio>
#include <type_traits>

namespace zrelay::broker {
namespace {

// A JSON object written field by field; names are fixed ASCII, strings are escaped.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  ~JsonObject() { out_ += '}'; }
  JsonObject(const JsonObject&) = delete;
  JsonObject& operator=(const JsonObject&) = delete;

  template <class Number>
    requires std::is_arithmetic_v<Number>
  JsonObject& field(const char* name, Number value) {
    key(name);
    if constexpr (std::is_same_v<Number, bool>) {
      out_ += value ? "true" : "false";
    } else {
      out_ += std::to_string(value);
    }
    return *this;
  }
  JsonObject& field(const char* name, const std::string& value) {
    key(name);
    append_string(out_, value);
    return *this;
  }
  // Starts a field whose value the caller writes next.
  std::string& raw(const char* name) {
    key(name);
    return out_;
  }

  static void append_string(std::string& out, const std::string& text) {
    out += '"';
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (byte < 0x20 || byte == 0x7F) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
        out += escaped;
      } else {
        out += c;  // UTF-8 passes through; group names are any bytes >= 0x20
      }
    }
    out += '"';
  }

 private:
  void key(const char* name) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += name;
    out_ += "\":";
  }

  std::string& out_;
  bool first_ = true;
};

void append(std::string& out, const GroupStatistics& g) {
  JsonObject o(out);
  o.field("name", g.name)
      .field("members", g.members)
      .field("queued", g.queued)
      .field("unacked", g.unacked)
      .field("credits", g.credits)
      .field("has_last_value", g.has_last_value)
      .field("last_value_bytes", g.last_value_bytes)
      .field("broadcasts", g.broadcasts)
      .field("broadcast_deliveries", g.broadcast_deliveries)
      .field("broadcasts_skipped", g.broadcasts_skipped)
      .field("produced", g.produced)
      .field("delivered", g.delivered)
      .field("acked", g.acked)
      .field("redelivered", g.redelivered)
      .field("refused", g.refused)
      .field("dropped", g.dropped);
}

void append(std::string& out, const ClientStatistics& c) {
  JsonObject o(out);
  o.field("name", c.name).field("key", c.key).field("hello_name", c.hello_name);
  std::string& groups = o.raw("groups");
  groups += '[';
  for (std::size_t i = 0; i < c.groups.size(); ++i) {
    if (i > 0) groups += ',';
    JsonObject::append_string(groups, c.groups[i]);
  }
  groups += ']';
  o.field("credits", c.credits)
      .field("unacked", c.unacked)
      .field("pending_bytes", c.pending_bytes)
      .field("backlog", c.backlog)
      .field("messages_in", c.messages_in)
      .field("deliveries_out", c.deliveries_out)
      .field("session_ms", c.session_ms)
      .field("silent_ms", c.silent_ms);
}

template <class Item>
void append_array(std::string& out, const std::vector<Item>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    append(out, items[i]);
  }
  out += ']';
}

}  // namespace

std::string to_json(const BrokerStatistics& stats) {
  std::string out;
  {
    JsonObject o(out);
    o.field("clients", stats.clients)
        .field("payload_bytes", stats.payload_bytes)
        .field("expired_clients", stats.expired_clients)
        .field("overflowed_clients", stats.overflowed_clients)
        .field("revoked_clients", stats.revoked_clients)
        .field("late_acks", stats.late_acks)
        .field("refused_over_budget", stats.refused_over_budget)
        .field("refused_not_authorized", stats.refused_not_authorized)
        .field("malformed_messages", stats.malformed_messages);
    append_array(o.raw("groups"), stats.groups);
    append_array(o.raw("sessions"), stats.sessions);
  }
  return out;
}

}  // namespace zrelay::broker
