#pragma once
// The messages of docs/protocol.md as plain values. Payloads stay zmq::message_t so that
// the broker forwards them without copying.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <zmq.hpp>
#include <zrelay/error.hpp>
#include <zrelay/kind.hpp>
#include <zrelay/object_id.hpp>

namespace zrelay::protocol {

enum class Command : std::uint8_t {
  hello = 0x01,
  join = 0x02,
  leave = 0x03,
  broadcast = 0x04,
  produce = 0x05,
  ready = 0x06,
  ping = 0x07,
  bye = 0x08,
  ack = 0x09,
  stats = 0x0A,
  begin = 0x0B,
  chunk = 0x0C,
  welcome = 0x81,
  joined = 0x82,
  left = 0x83,
  deliver = 0x84,
  error = 0x85,
  pong = 0x86,
  goodbye = 0x87,
  stats_reply = 0x88,
  deliver_begin = 0x8A,
  deliver_chunk = 0x8B,
  abort = 0x8C,
};

// --- client to broker ---
// `endpoint_id`: random per Endpoint, the same across its sessions; all zero for none.
struct Hello { std::string name; EndpointId endpoint_id{}; };
struct Join { std::string group; };
struct Leave { std::string group; };
struct Broadcast { std::uint64_t seq = 0; std::string group; zmq::message_t payload; };
struct Produce { std::uint64_t seq = 0; std::string group; std::uint32_t copies = 1; zmq::message_t payload; };
struct Ready { std::string group; std::int32_t credits = 1; };
struct Ping { std::uint64_t token = 0; };
struct Bye {};
// The application has taken these produced items (delivery ids); the broker forgets them.
struct Ack { std::vector<std::uint64_t> delivery_ids; };
// Asks for the broker's statistics (needs the stats right); a refusal carries `seq`.
struct Stats { std::uint64_t seq = 0; };

// An object over chunk_size starts: a BROADCAST (copies 1) or PRODUCE of `size` bytes, whose
// bytes follow in CHUNKs named by its seq; handled when the last one arrived.
struct Begin { std::uint64_t seq = 0; std::string group; Kind kind = Kind::broadcast; std::uint32_t copies = 1; std::uint64_t size = 0; };
struct Chunk { std::uint64_t seq = 0; std::uint64_t offset = 0; zmq::message_t data; };

using ClientMessage = std::variant<Hello, Join, Leave, Broadcast, Produce, Ready, Ping, Bye, Ack, Stats, Begin, Chunk>;

// What a BROADCAST and a PRODUCE (an object) have in common, viewed in place.
struct ObjectView {
  std::uint64_t seq;
  const std::string& group;
  const zmq::message_t& payload;
};
// The object `message` is, or nothing for other commands.
[[nodiscard]] inline std::optional<ObjectView> object_view(const ClientMessage& message) {
  if (const auto* m = std::get_if<Broadcast>(&message)) return ObjectView{m->seq, m->group, m->payload};
  if (const auto* m = std::get_if<Produce>(&message)) return ObjectView{m->seq, m->group, m->payload};
  return std::nullopt;
}

// --- broker to client ---
struct Welcome {
  std::uint64_t max_message_size = 0;
  std::string broker_version;
  std::uint64_t instance = 0;        // random per broker start: a new value means the broker restarted
  std::uint32_t heartbeat_ms = 0;    // the client sends something (PING) at least this often
  std::uint32_t liveness_ms = 0;     // a client silent this long is forgotten
};
struct Joined { std::string group; };
struct Left { std::string group; };
struct Deliver {
  std::string group;
  Kind kind = Kind::broadcast;
  std::uint64_t delivery_id = 0;  // a produced item keeps its id when it is delivered again
  std::uint32_t attempt = 1;      // 1 for the first delivery of an item, 2 for the next, ...
  zmq::message_t payload;
  ObjectId object;                // stable across redeliveries (on the wire before the payload)
};
struct ErrorReply { ErrorCode code = ErrorCode::ok; std::uint64_t seq = 0; std::string group; std::string text; };
struct Pong { std::uint64_t token = 0; };
enum class GoodbyeReason : std::uint8_t {
  bye = 0,            // the answer to BYE
  shutting_down = 1,  // the broker is stopping
  expired = 2,        // the client was silent for longer than the liveness window
  overflowed = 3,     // the client let too many replies pile up unread
  revoked = 4,        // the client's key is no longer authorized
};
struct Goodbye { GoodbyeReason reason = GoodbyeReason::bye; };
// The answer to STATS: a JSON document (docs/operations.md).
struct StatsReply { std::uint64_t seq = 0; std::string json; };

// A DELIVER of an object over chunk_size: its bytes follow in DELIVER-CHUNKs named by the
// delivery id, in order, between other messages; ABORT drops it (not delivered after all).
struct DeliverBegin {
  std::string group;
  Kind kind = Kind::broadcast;
  std::uint64_t delivery_id = 0;
  std::uint32_t attempt = 1;
  ObjectId object;
  std::uint64_t size = 0;
};
struct DeliverChunk { std::uint64_t delivery_id = 0; std::uint64_t offset = 0; zmq::message_t data; };
struct Abort { std::uint64_t delivery_id = 0; };

using BrokerMessage = std::variant<Welcome, Joined, Left, Deliver, ErrorReply, Pong, Goodbye, StatsReply,
                                   DeliverBegin, DeliverChunk, Abort>;

}  // namespace zrelay::protocol
