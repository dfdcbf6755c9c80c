#pragma once
// A client that speaks docs/protocol.md with plain libzmq and a CURVE key, frame by frame, as one
// in another language (or a hostile one) would.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zrelay/certificate.hpp>

#include "tests/support/wire_form.hpp"

namespace zrelay::testing {

inline std::string header(std::uint8_t command) { return std::string("ZR\x03", 3) + static_cast<char>(command); }

class RawClient {
 public:
  // `before_connect` sets what libzmq only applies to connections made after it (high-water
  // marks, buffer sizes).
  RawClient(zmq::context_t& context, const std::string& address, const std::string& broker_key, const Certificate& key,
            const std::function<void(zmq::socket_t&)>& before_connect = {})
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::curve_serverkey, broker_key);
    socket_.set(zmq::sockopt::curve_publickey, key.public_key());
    socket_.set(zmq::sockopt::curve_secretkey, key.secret_key());
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 10000);
    if (before_connect) before_connect(socket_);
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

  // The next command, as its fields (the broker may send several in one message).
  std::optional<Frames> try_receive(std::chrono::milliseconds timeout) {
    return commands_.next([&]() -> std::optional<Frames> {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
      Frames frames;
      do {
        zmq::message_t frame;
        (void)socket_.recv(frame);
        frames.push_back(frame.to_string());
      } while (socket_.get(zmq::sockopt::rcvmore));
      return frames;
    });
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
  CommandReader commands_;
};

inline std::string u32(std::uint32_t v) { return i32(static_cast<std::int32_t>(v)); }

}  // namespace zrelay::testing
