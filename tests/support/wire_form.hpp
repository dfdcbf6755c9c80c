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

// A message is a batch frame (docs/protocol.md, "Framing"): `ZR 03 00`, then each command as
// its code, a u32 length and its fields, each field a u32 length and its bytes. Here a message
// is one command given as its fields, the first being `ZR 03` and the command code (as
// header() in raw_client.hpp makes it). wire() puts the payload of BROADCAST, PRODUCE, DELIVER
// and STATS-REPLY in a frame of its own, its field a reference to it (u32 0xFFFFFFFF, u8 1);
// zrelay inlines payloads up to 4096 bytes.
inline bool has_payload(const std::string& header) {
  if (header.size() < 4) return false;
  const auto command = static_cast<unsigned char>(header[3]);
  return command == 0x04 || command == 0x05 || command == 0x84 || command == 0x88;
}

inline void put_u32(std::string& out, std::uint32_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xFF);
}

inline std::uint32_t get_u32(const std::string& in, std::size_t at) {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in[at + i]);
  return n;
}

inline Frames wire(const Frames& fields) {
  if (fields.empty()) return {};
  if (fields[0].size() != 4) return fields;  // not a command: sent as it is
  const bool apart = has_payload(fields[0]) && fields.size() > 1;
  const std::size_t packed = fields.size() - (apart ? 1 : 0);
  std::string body;
  for (std::size_t i = 1; i < packed; ++i) {
    put_u32(body, static_cast<std::uint32_t>(fields[i].size()));
    body += fields[i];
  }
  if (apart) {
    put_u32(body, 0xFFFFFFFF);
    body += '\x01';
  }
  std::string batch = fields[0].substr(0, 3) + '\0' + fields[0][3];
  put_u32(batch, static_cast<std::uint32_t>(body.size()));
  Frames out{batch + body};
  if (apart) out.push_back(fields.back());
  return out;
}

// The fields of a message of one command in wire form, header first (a message that does not
// parse so is kept whole).
inline Frames fields(const Frames& wire) {
  if (wire.empty() || wire[0].size() < 9 || wire[0][3] != '\0') return wire;
  const std::string& batch = wire[0];
  const std::uint32_t length = get_u32(batch, 5);
  if (length != batch.size() - 9) return wire;
  Frames out{batch.substr(0, 3) + batch[4]};
  for (std::size_t at = 9; at < batch.size();) {
    if (batch.size() - at < 4) return wire;
    const std::uint32_t n = get_u32(batch, at);
    at += 4;
    if (n == 0xFFFFFFFF) {
      if (at >= batch.size() || static_cast<std::size_t>(batch[at]) >= wire.size()) return wire;
      out.push_back(wire[static_cast<std::size_t>(batch[at])]);
      at += 1;
      continue;
    }
    if (n > batch.size() - at) return wire;
    out.push_back(batch.substr(at, n));
    at += n;
  }
  return out;
}

// HELLO's endpoint id for a client that wants no deduplication.
inline const std::string no_endpoint_id(16, '\0');

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
