#pragma once
// Field-level helpers behind the codec: fixed-width big-endian integers, text and group frames.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "protocol/limits.hpp"
#include "protocol/messages.hpp"

namespace zrelay::protocol::detail {

// The first frame of a command's field list inside the codec (never on the wire as such):
// signature, version, command.
[[nodiscard]] zmq::message_t header_frame(Command command);
[[nodiscard]] zmq::message_t string_frame(std::string_view text);

template <class Int>
[[nodiscard]] zmq::message_t int_frame(Int value) {
  zmq::message_t frame(sizeof(Int));
  auto* out = static_cast<std::uint8_t*>(frame.data());
  auto bits = static_cast<std::uint64_t>(value);
  for (std::size_t i = 0; i < sizeof(Int); ++i) {
    out[sizeof(Int) - 1 - i] = static_cast<std::uint8_t>(bits >> (8 * i));
  }
  return frame;
}

[[noreturn]] void malformed(const std::string& why);

template <class Int>
[[nodiscard]] Int read_int(const zmq::message_t& frame, const char* field) {
  if (frame.size() != sizeof(Int)) {
    malformed(std::string(field) + " must be " + std::to_string(sizeof(Int)) + " bytes, got " +
              std::to_string(frame.size()));
  }
  const auto* in = static_cast<const std::uint8_t*>(frame.data());
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < sizeof(Int); ++i) bits = (bits << 8) | in[i];
  return static_cast<Int>(bits);
}

// A list of u64 ids in one frame (ACK): 1 to max_acks of them.
[[nodiscard]] zmq::message_t ids_frame(const std::vector<std::uint64_t>& ids);
[[nodiscard]] std::vector<std::uint64_t> read_ids(const zmq::message_t& frame);

[[nodiscard]] EndpointId read_endpoint_id(const zmq::message_t& frame);
[[nodiscard]] std::string read_group(const zmq::message_t& frame);
[[nodiscard]] std::string read_optional_group(const zmq::message_t& frame);
[[nodiscard]] std::string read_text(const zmq::message_t& frame, const char* field);

// Checks the batch frame's signature and version (bad_version) and flags (malformed_message).
void check_batch_header(const zmq::message_t& frame);

}  // namespace zrelay::protocol::detail
