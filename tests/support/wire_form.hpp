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

// The commands of a message in wire form, each as a message of one command in wire form (its
// payload frame with it, referred to as frame 1), in order; a message that does not parse as a
// batch is kept whole. Senders join what waits for a peer: readers of this form split it.
inline std::vector<Frames> commands(const Frames& wire) {
  if (wire.empty() || wire[0].size() < 9 || wire[0][3] != '\0') return {wire};
  const std::string& batch = wire[0];
  std::vector<Frames> out;
  for (std::size_t at = 4; at < batch.size();) {
    if (batch.size() - at < 5) return {wire};
    const std::uint32_t length = get_u32(batch, at + 1);
    if (length > batch.size() - at - 5) return {wire};
    std::string command = batch.substr(at, 5 + length);
    Frames one{batch.substr(0, 4)};
    // A payload reference (a length FF FF FF FF, then the frame k) is pointed at frame 1.
    for (std::size_t field = 5; field + 4 <= command.size();) {
      const std::uint32_t n = get_u32(command, field);
      field += 4;
      if (n != 0xFFFFFFFF) {
        field += n;
        continue;
      }
      if (field >= command.size()) return {wire};
      const auto k = static_cast<std::size_t>(static_cast<unsigned char>(command[field]));
      if (k == 0 || k >= wire.size()) return {wire};
      command[field] = '\x01';
      one.push_back(wire[k]);
      break;
    }
    one[0] += command;
    out.push_back(std::move(one));
    at += 5 + length;
  }
  if (out.empty()) return {wire};
  return out;
}

// Reads commands one at a time from a source of whole messages in wire form (which may carry
// several), each as its fields (see fields()).
class CommandReader {
 public:
  template <class Read>  // std::optional<Frames> read(): the next whole message, if any
  std::optional<Frames> next(Read&& read) {
    if (pending_.empty()) {
      auto wire_message = read();
      if (!wire_message) return std::nullopt;
      for (Frames& one : commands(*wire_message)) pending_.push_back(fields(one));
    }
    Frames first = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return first;
  }

 private:
  std::vector<Frames> pending_;
};

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
