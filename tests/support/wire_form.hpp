#pragma once
// The wire form of docs/protocol.md ("Framing"), written here from the document, not from the
// codec, for the tests' raw client and the decoder fuzzers: a message as its fields (header
// first) and as the frames that carry them.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zrelay::testing {

using Frames = std::vector<std::string>;

// The header frame carries every field as a u32 length and its bytes. wire() puts the payload of
// BROADCAST, PRODUCE, DELIVER and STATS-REPLY in a second frame (allowed at any size; zrelay
// inlines payloads up to 4096 bytes).
inline bool has_payload(const std::string& header) {
  if (header.size() < 4) return false;
  const auto command = static_cast<unsigned char>(header[3]);
  return command == 0x04 || command == 0x05 || command == 0x83 || command == 0x88;
}

inline Frames wire(const Frames& fields) {
  if (fields.empty()) return {};
  const std::size_t packed = fields.size() - (has_payload(fields[0]) && fields.size() > 1 ? 1 : 0);
  std::string head = fields[0];
  for (std::size_t i = 1; i < packed; ++i) {
    const auto n = static_cast<std::uint32_t>(fields[i].size());
    for (int shift = 24; shift >= 0; shift -= 8) head += static_cast<char>((n >> shift) & 0xFF);
    head += fields[i];
  }
  Frames out{head};
  if (packed < fields.size()) out.push_back(fields.back());
  return out;
}

// The fields of a message in wire form, header first (a frame that does not parse is kept whole).
inline Frames fields(const Frames& wire) {
  if (wire.empty() || wire[0].size() < 4) return wire;
  Frames out{wire[0].substr(0, 4)};
  for (std::size_t at = 4; at < wire[0].size();) {
    if (wire[0].size() - at < 4) return wire;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(wire[0][at + static_cast<std::size_t>(i)]);
    at += 4;
    if (n > wire[0].size() - at) return wire;
    out.push_back(wire[0].substr(at, n));
    at += n;
  }
  for (std::size_t i = 1; i < wire.size(); ++i) out.push_back(wire[i]);
  return out;
}
inline std::string u64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
  return out;
}
inline std::string i32(std::int32_t v) {
  auto bits = static_cast<std::uint32_t>(v);
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, bits >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(bits & 0xFF);
  return out;
}

}  // namespace zrelay::testing
