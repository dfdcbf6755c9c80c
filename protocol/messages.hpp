#pragma once
// The messages of docs/protocol.md as plain values. Payloads stay zmq::message_t so that
// the broker forwards them without copying.
#include <cstdint>
#include <string>
#include <variant>

#include <zmq.hpp>
#include <zrelay/error.hpp>
#include <zrelay/kind.hpp>

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
  welcome = 0x81,
  joined = 0x82,
  left = 0x83,
  deliver = 0x84,
  error = 0x85,
  pong = 0x86,
  goodbye = 0x87,
};

// --- client to broker ---
struct Hello { std::string name; };
struct Join { std::string group; };
struct Leave { std::string group; };
struct Broadcast { std::uint64_t seq = 0; std::string group; zmq::message_t payload; };
struct Produce { std::uint64_t seq = 0; std::string group; std::uint32_t copies = 1; zmq::message_t payload; };
struct Ready { std::string group; std::int32_t credits = 1; };
struct Ping { std::uint64_t token = 0; };
struct Bye {};

using ClientMessage = std::variant<Hello, Join, Leave, Broadcast, Produce, Ready, Ping, Bye>;

// --- broker to client ---
struct Welcome { std::uint64_t max_message_size = 0; std::string broker_version; };
struct Joined { std::string group; };
struct Left { std::string group; };
struct Deliver { std::string group; Kind kind = Kind::broadcast; std::uint64_t delivery_id = 0; zmq::message_t payload; };
struct ErrorReply { ErrorCode code = ErrorCode::ok; std::uint64_t seq = 0; std::string group; std::string text; };
struct Pong { std::uint64_t token = 0; };
struct Goodbye {};

using BrokerMessage = std::variant<Welcome, Joined, Left, Deliver, ErrorReply, Pong, Goodbye>;

}  // namespace zrelay::protocol
