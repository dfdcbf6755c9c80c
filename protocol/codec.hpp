#pragma once
// Encoding and decoding of protocol messages to and from ZeroMQ frames. Decoding never trusts
// its input: any deviation from docs/protocol.md throws zrelay::Error (malformed_message or
// bad_version) and leaves no partial state behind.
#include <optional>
#include <vector>

#include <zmq.hpp>

#include "protocol/messages.hpp"

namespace zrelay::protocol {

using Frames = std::vector<zmq::message_t>;

[[nodiscard]] Frames encode(ClientMessage&& message);
[[nodiscard]] Frames encode(BrokerMessage&& message);

// The commands of one message (a batch), in order. A malformed command ends the batch: the
// commands before it are in `messages`, its error in `error` (also for a message that is not a
// batch at all: bad_version, malformed_message, with no commands).
template <class Message>
struct Batch {
  std::vector<Message> messages;
  std::optional<Error> error;
};

// Frames are consumed: payload frames are moved into the result.
[[nodiscard]] Batch<ClientMessage> decode_client_batch(Frames& frames);
[[nodiscard]] Batch<BrokerMessage> decode_broker_batch(Frames& frames);
// A message of exactly one command; throws its error otherwise.
[[nodiscard]] ClientMessage decode_client(Frames& frames);
[[nodiscard]] BrokerMessage decode_broker(Frames& frames);

// True if `group` is a valid group name (1..255 bytes, no control characters).
[[nodiscard]] bool valid_group(std::string_view group) noexcept;

}  // namespace zrelay::protocol
