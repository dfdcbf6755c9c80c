#pragma once
// A client that speaks docs/protocol.md with plain libzmq and a CURVE key, frame by frame, as one
// in another language (or a hostile one) would.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zrelay/certificate.hpp>

namespace zrelay::testing {

using Frames = std::vector<std::string>;

inline std::string header(std::uint8_t command) { return std::string("ZR\x02", 3) + static_cast<char>(command); }

// The wire form of docs/protocol.md ("Framing"), written here from the document, not from the
// codec: the header frame carries every field as a u32 length and its bytes; this client sends
// the payload of BROADCAST, PRODUCE, DELIVER and STATS-REPLY in a second frame (allowed at any
// size; zrelay inlines payloads up to 4096 bytes).
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

class RawClient {
 public:
  RawClient(zmq::context_t& context, const std::string& address, const std::string& broker_key, const Certificate& key)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::curve_serverkey, broker_key);
    socket_.set(zmq::sockopt::curve_publickey, key.public_key());
    socket_.set(zmq::sockopt::curve_secretkey, key.secret_key());
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 10000);
    socket_.connect(address);
  }

  // Sends a message given as its fields (header first), in wire form.
  void send(const Frames& message) { send_wire(wire(message)); }

  // Sends these frames as they are.
  void send_wire(const Frames& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      zmq::message_t frame(frames[i].data(), frames[i].size());
      (void)socket_.send(frame, i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }

  Frames receive() {
    auto frames = try_receive(std::chrono::seconds(10));
    if (!frames) throw std::runtime_error("no answer from the broker within 10 s");
    return *frames;
  }

  std::optional<Frames> try_receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    Frames frames;
    do {
      zmq::message_t frame;
      (void)socket_.recv(frame);
      frames.push_back(frame.to_string());
    } while (socket_.get(zmq::sockopt::rcvmore));
    return fields(frames);
  }

  // The error code of the next message, which must be an ERROR.
  std::uint16_t receive_error_code() {
    const auto frames = receive();
    EXPECT_EQ(frames.at(0), header(0x85));
    return static_cast<std::uint16_t>((static_cast<unsigned char>(frames.at(1)[0]) << 8) |
                                      static_cast<unsigned char>(frames.at(1)[1]));
  }

  void expect_pong(std::uint64_t token) {
    send({header(0x07), u64(token)});
    EXPECT_EQ(receive(), (Frames{header(0x86), u64(token)}));
  }

  [[nodiscard]] zmq::socket_t& socket() noexcept { return socket_; }

 private:
  zmq::socket_t socket_;
};

inline std::string u32(std::uint32_t v) { return i32(static_cast<std::int32_t>(v)); }

}  // namespace zrelay::testing
