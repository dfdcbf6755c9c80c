#include "broker/stats_json.hpp"

#include <cstdio>
#include <type_traits>

namespace zrelay::broker {
namespace {

void append_escape(std::string& out, unsigned code) {
  char escaped[8];
  std::snprintf(escaped, sizeof escaped, "\\u%04x", code);
  out += escaped;
}

// The length of the valid UTF-8 sequence at `i` (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), or 0 if the byte there does not start one.
std::size_t utf8_length(const std::string& text, std::size_t i) {
  const auto at = [&](std::size_t k) { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u; };
  const unsigned lead = at(i);
  if (lead < 0x80) return 1;
  unsigned low = 0x80, high = 0xBF;  // the range of the second byte
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong form
    high = lead == 0xED ? 0x9F : 0xBF;  // no surrogate
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (at(i + 1) < low || at(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k)
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  return length;
}

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

  // Valid UTF-8 passes through; control characters are \u escapes; a byte that is not part of
  // valid UTF-8 (group names are any bytes) becomes \udcXX, the lone surrogate that Python's
  // "surrogateescape" reads back as that byte, so the output is always valid UTF-8 JSON.
  static void append_string(std::string& out, const std::string& text) {
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
      const auto byte = static_cast<unsigned char>(text[i]);
      const std::size_t length = utf8_length(text, i);
      if (byte == '"' || byte == '\\') {
        out += '\\';
        out += text[i];
      } else if (byte < 0x20 || byte == 0x7F) {
        append_escape(out, byte);
      } else if (length == 0) {
        append_escape(out, 0xDC00u + byte);
      } else {
        out.append(text, i, length);
        i += length;
        continue;
      }
      ++i;
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
        .field("overhead_bytes", stats.overhead_bytes)
        .field("closing_backlog", stats.closing_backlog)
        .field("expired_clients", stats.expired_clients)
        .field("disconnected_clients", stats.disconnected_clients)
        .field("remembered_producers", stats.remembered_producers)
        .field("producer_bytes", stats.producer_bytes)
        .field("overflowed_clients", stats.overflowed_clients)
        .field("revoked_clients", stats.revoked_clients)
        .field("late_acks", stats.late_acks)
        .field("refused_sends", stats.refused_sends)
        .field("refused_over_budget", stats.refused_over_budget)
        .field("refused_storage_failed", stats.refused_storage_failed)
        .field("store_bytes", stats.store_bytes)
        .field("refused_not_authorized", stats.refused_not_authorized)
        .field("malformed_messages", stats.malformed_messages);
    append_array(o.raw("groups"), stats.groups);
    append_array(o.raw("sessions"), stats.sessions);
  }
  return out;
}

}  // namespace zrelay::broker
