#include "protocol/batch_builder.hpp"

#include <cstring>
#include <memory>
#include <utility>

#include "protocol/handover.hpp"
#include "protocol/limits.hpp"

namespace zrelay::protocol {
namespace {

// The commands in a batch frame this process encoded (so well formed): each has a 5-byte header
// of its code and the u32 length of its fields.
std::size_t commands_in(const zmq::message_t& frame) {
  const auto* bytes = static_cast<const std::uint8_t*>(frame.data());
  std::size_t count = 0;
  for (std::size_t at = header_size; at + command_header_size <= frame.size(); ++count) {
    const std::size_t length = (std::size_t{bytes[at + 1]} << 24) | (std::size_t{bytes[at + 2]} << 16) |
                               (std::size_t{bytes[at + 3]} << 8) | bytes[at + 4];
    at += command_header_size + length;
  }
  return count;
}

// The joined batch frame's bytes, and the batch frames they were copied from, kept alive with
// them: those hold their inlined payloads, which the broker counts until libzmq releases them.
struct JoinedFrame {
  std::vector<std::uint8_t> bytes;
  Frames sources;
};

void release_joined(void* /*data*/, void* hint) {
  zrelay::detail::taken_back(hint);  // often on libzmq's I/O thread (protocol/handover.hpp)
  delete static_cast<JoinedFrame*>(hint);
}

}  // namespace

bool BatchBuilder::add(Frames& message) {
  const std::size_t body = message.front().size() - header_size;
  const std::size_t commands = commands_in(message.front());
  // Read after its encoder handed it over: handed over again (codec.cpp's release takes it back).
  zrelay::detail::handed_over(message.front().data());
  const bool payload_frame = message.size() > 1;
  if (!parts_.empty() && (bytes_ + body > max_batch_bytes || commands_ + commands > max_batch_commands ||
                          (payload_frame && has_payload_frame_))) {
    return false;
  }
  if (parts_.empty()) bytes_ = header_size;
  bytes_ += body;
  commands_ += commands;
  has_payload_frame_ = has_payload_frame_ || payload_frame;
  parts_.push_back(std::move(message));
  return true;
}

Frames BatchBuilder::take() {
  std::vector<Frames> parts = std::move(parts_);
  parts_.clear();
  const std::size_t size = std::exchange(bytes_, 0);
  commands_ = 0;
  has_payload_frame_ = false;
  if (parts.size() == 1) return std::move(parts.front());
  // One payload frame at most, so its reference (frame 1) stays right in every command.
  auto joined = std::make_unique<JoinedFrame>();
  joined->bytes.resize(size);
  std::memcpy(joined->bytes.data(), parts.front().front().data(), header_size);
  std::size_t at = header_size;
  Frames wire(1);
  for (Frames& part : parts) {
    const auto* from = static_cast<const std::uint8_t*>(part.front().data());
    std::memcpy(joined->bytes.data() + at, from + header_size, part.front().size() - header_size);
    at += part.front().size() - header_size;
    if (part.size() > 1) wire.push_back(std::move(part[1]));
    joined->sources.push_back(std::move(part.front()));
  }
  auto* raw = joined.release();
  wire.front() = zmq::message_t(raw->bytes.data(), size, &release_joined, raw);
  zrelay::detail::handed_over(raw);  // after the last access from this thread
  return wire;
}

}  // namespace zrelay::protocol
