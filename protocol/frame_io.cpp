#include "protocol/frame_io.hpp"

#include <cstring>

#include "protocol/codec.hpp"

namespace zrelay::protocol::detail {

zmq::message_t header_frame(Command command) {
  const std::uint8_t bytes[header_size] = {signature_0, signature_1, version,
                                           static_cast<std::uint8_t>(command)};
  return zmq::message_t(bytes, header_size);
}

zmq::message_t string_frame(std::string_view text) { return zmq::message_t(text.data(), text.size()); }

void malformed(const std::string& why) { throw Error(ErrorCode::malformed_message, "malformed message: " + why); }

zmq::message_t ids_frame(const std::vector<std::uint64_t>& ids) {
  zmq::message_t frame(ids.size() * 8);
  auto* out = static_cast<std::uint8_t*>(frame.data());
  for (const std::uint64_t id : ids) {
    for (int i = 7; i >= 0; --i) *out++ = static_cast<std::uint8_t>(id >> (8 * i));
  }
  return frame;
}

std::vector<std::uint64_t> read_ids(const zmq::message_t& frame) {
  if (frame.size() == 0 || frame.size() % 8 != 0 || frame.size() / 8 > max_acks) {
    malformed("ids must be 1 to " + std::to_string(max_acks) + " u64 values, got " + std::to_string(frame.size()) +
              " bytes");
  }
  const auto* in = static_cast<const std::uint8_t*>(frame.data());
  std::vector<std::uint64_t> ids(frame.size() / 8);
  for (std::uint64_t& id : ids) {
    for (int i = 0; i < 8; ++i) id = (id << 8) | *in++;
  }
  return ids;
}

EndpointId read_endpoint_id(const zmq::message_t& frame) {
  EndpointId id{};
  if (frame.size() != id.size()) malformed("an endpoint id is 16 bytes, got " + std::to_string(frame.size()));
  std::memcpy(id.data(), frame.data(), id.size());
  return id;
}

std::string read_group(const zmq::message_t& frame) {
  std::string group(static_cast<const char*>(frame.data()), frame.size());
  if (!valid_group(group)) malformed("invalid group name (1..255 bytes, no control characters)");
  return group;
}

std::string read_optional_group(const zmq::message_t& frame) {
  return frame.size() == 0 ? std::string() : read_group(frame);
}

std::string read_text(const zmq::message_t& frame, const char* field) {
  if (frame.size() > max_text_size) malformed(std::string(field) + " is longer than 1024 bytes");
  return std::string(static_cast<const char*>(frame.data()), frame.size());
}

void check_batch_header(const zmq::message_t& frame) {
  const auto* bytes = static_cast<const std::uint8_t*>(frame.data());
  if (frame.size() < header_size || bytes[0] != signature_0 || bytes[1] != signature_1) {
    throw Error(ErrorCode::bad_version, "not a zrelay message (bad signature)");
  }
  if (bytes[2] != version) {
    throw Error(ErrorCode::bad_version,
                "unsupported protocol version " + std::to_string(bytes[2]) + " (this side speaks " +
                    std::to_string(version) + ")");
  }
  if (bytes[3] != 0) malformed("unknown batch flags " + std::to_string(bytes[3]));
}

}  // namespace zrelay::protocol::detail
