#pragma once
// Encoding and decoding of protocol messages to and from ZeroMQ frames. Decoding never trusts
// its input: any deviation from docs/protocol.md throws zrelay::Error (malformed_message or
// bad_version) and leaves no partial state behind.
#include <vector>

#include <zmq.hpp>

#include "protocol/messages.hpp"

namespace zrelay::protocol {

using Frames = std::vector<zmq::message_t>;

[[nodiscard]] Frames encode(ClientMessage&& message);
[[nodiscard]] Frames encode(BrokerMessage&& message);

// Frames are consumed: payload frames are moved into the result.
[[nodiscard]] ClientMessage decode_client(Frames& frames);
[[nodiscard]] BrokerMessage decode_broker(Frames& frames);

// True if `group` is a valid group name (1..255 bytes, no control characters).
[[nodiscard]] bool valid_group(std::string_view group) noexcept;

}  // namespace zrelay::protocol
