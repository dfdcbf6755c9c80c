// CurvePeer against a bare libzmq ROUTER (CURVE server) on 127.0.0.1: the handshake and messages both ways work,
// and what libzmq must refuse (a replayed nonce, nonces out of order, a flipped box byte) costs the connection.
#include "tests/support/curve_peer.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace zrelay::testing {
namespace {

using namespace std::chrono_literals;
using Frames = std::vector<std::string>;

// A ROUTER socket with fresh CURVE server keys, bound to an OS-chosen port.
class BareRouter {
 public:
  explicit BareRouter(int heartbeat_ivl_ms = 0, int heartbeat_timeout_ms = 0) {
    std::array<char, 41> public_z85{}, secret_z85{};
    if (zmq_curve_keypair(public_z85.data(), secret_z85.data()) != 0) throw std::runtime_error("zmq_curve_keypair");
    server_public = curve_keys_from_z85(public_z85.data(), secret_z85.data()).public_key;
    socket.set(zmq::sockopt::curve_server, true);
    socket.set(zmq::sockopt::curve_secretkey, std::string(secret_z85.data()));
    socket.set(zmq::sockopt::linger, 0);
    if (heartbeat_ivl_ms > 0) {
      socket.set(zmq::sockopt::heartbeat_ivl, heartbeat_ivl_ms);
      socket.set(zmq::sockopt::heartbeat_timeout, heartbeat_timeout_ms);
    }
    socket.bind("tcp://127.0.0.1:*");
    const std::string endpoint = socket.get(zmq::sockopt::last_endpoint);
    port = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  std::optional<Frames> try_receive(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    std::vector<zmq::message_t> parts;
    (void)zmq::recv_multipart(socket, std::back_inserter(parts));
    Frames frames;
    for (const auto& part : parts) frames.push_back(part.to_string());
    return frames;
  }

  Frames receive() {
    auto frames = try_receive(10s);
    if (!frames) throw std::runtime_error("the ROUTER received nothing within 10 s");
    return *frames;
  }

  void send(const Frames& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      (void)socket.send(zmq::buffer(frames[i]), flags);
    }
  }

  zmq::context_t context;
  zmq::socket_t socket{context, zmq::socket_type::router};
  CurveKey server_public{};
  std::uint16_t port = 0;
};

// A ZAP handler (RFC 27) in the ROUTER's context that answers every request with `status` and records the client
// keys it was asked about. Declare it after the BareRouter so that it closes first.
class ZapHandler {
 public:
  ZapHandler(zmq::context_t& context, std::string status)
      : socket_(context, zmq::socket_type::rep), status_(std::move(status)) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
    thread_ = std::jthread([this](const std::stop_token& stop) { serve(stop); });
  }
  ~ZapHandler() {
    thread_.request_stop();
    thread_.join();
  }
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  Frames keys() const {
    const std::lock_guard lock(mutex_);
    return keys_;
  }

 private:
  void serve(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, 20ms) == 0) continue;  // short, so that the destructor's stop request is seen soon
      std::vector<zmq::message_t> request;  // version, request id, domain, address, identity, mechanism, key
      (void)zmq::recv_multipart(socket_, std::back_inserter(request));
      {
        const std::lock_guard lock(mutex_);
        keys_.push_back(request.at(6).to_string());
      }
      // version, request id, status code, status text, user id, metadata
      const zmq::message_t& request_id = request.at(1);
      const std::array<zmq::const_buffer, 6> reply{
          zmq::str_buffer("1.0"), zmq::buffer(request_id.data(), request_id.size()), zmq::buffer(status_),
          zmq::str_buffer(""),    zmq::str_buffer("user"),                            zmq::str_buffer("")};
      (void)zmq::send_multipart(socket_, reply);
    }
  }

  zmq::socket_t socket_;
  std::string status_;
  mutable std::mutex mutex_;
  Frames keys_;
  std::jthread thread_;
};

std::string key_bytes(const CurveKey& key) { return {reinterpret_cast<const char*>(key.data()), key.size()}; }

TEST(CurvePeer, HandshakeAndOneMessageEachWay) {
  BareRouter router;
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  EXPECT_EQ(peer.server_metadata().at("Socket-Type"), "ROUTER");

  peer.send_message({"hello", "world"});
  const Frames in = router.receive();
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[1], "hello");
  EXPECT_EQ(in[2], "world");

  router.send({in[0], "back"});
  EXPECT_EQ(peer.receive(10s), Frames{"back"});
  // The control for the tests below: a peer that keeps to the rules stays connected.
  EXPECT_FALSE(peer.wait_closed(200ms));
}

TEST(CurvePeer, LongFramesBothWays) {
  BareRouter router;
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  const std::string big(70000, 'x');  // over 255 bytes: the LONG flag and an 8-byte size
  peer.send_message({big, "tail"});
  const Frames in = router.receive();
  ASSERT_EQ(in.size(), 3u);
  EXPECT_EQ(in[1], big);
  router.send({in[0], "head", big});
  EXPECT_EQ(peer.receive(10s), (Frames{"head", big}));
}

// zrelay's libzmq (third_party/libzmq, patch 0001) never adopts an announced routing id, whatever
// it is: "ABC", longer than the 255 bytes a routing id had in ZMTP 2.0, or with the leading zero
// byte of the ids libzmq makes up itself. Stock libzmq 4.3.4 took each as it was.
TEST(CurvePeer, RouterDoesNotAdoptAnnouncedRoutingIds) {
  BareRouter router;
  for (const std::string& id : {std::string("ABC"), std::string(300, 'L'), std::string("\0ab", 3)}) {
    CurvePeer peer(router.port, router.server_public, make_curve_keys(), id);
    peer.send_frame("x", false);
    const Frames in = router.receive();
    ASSERT_EQ(in.size(), 2u);
    EXPECT_NE(in[0], id);
    EXPECT_EQ(in[0].size(), 5u);
    EXPECT_EQ(in[1], "x");
    router.send({in[0], "reply"});
    EXPECT_EQ(peer.receive(10s), Frames{"reply"});
  }
}

// libzmq ORs the outer frame flags into the ones from the box: an outer MORE makes a frame whose box says "last"
// part of a longer message.
TEST(CurvePeer, StockRouterOrsOuterMoreIntoTheBoxFlags) {
  BareRouter router;
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  std::string sealed = peer.seal_frame("a", false);
  sealed[0] = static_cast<char>(sealed[0] | 0x01);
  peer.send_raw(sealed);
  peer.send_frame("b", false);
  const Frames in = router.receive();
  EXPECT_EQ(in, (Frames{in.at(0), "a", "b"}));
}

TEST(CurvePeer, ReplayedFrameDropsTheConnection) {
  BareRouter router;
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  peer.send_frame("first", false);
  ASSERT_EQ(router.receive().at(1), "first");

  peer.replay_last();
  EXPECT_TRUE(peer.wait_closed(10s));
  EXPECT_FALSE(router.try_receive(100ms));
}

TEST(CurvePeer, NoncesOutOfOrderDropTheConnection) {
  BareRouter router;
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  peer.send_out_of_order("earlier", "later");
  EXPECT_EQ(router.receive().at(1), "later");  // n + 1 is fine on its own; n after it is not
  EXPECT_TRUE(peer.wait_closed(10s));
  EXPECT_FALSE(router.try_receive(100ms));
}

TEST(CurvePeer, FlippedBoxByteDropsTheConnection) {
  BareRouter router;
  const std::size_t box_size = 16 + 1 + 7;  // MAC, flags byte, "payload"
  for (const std::size_t offset : {std::size_t{0}, std::size_t{16}, box_size - 1}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    CurvePeer peer(router.port, router.server_public, make_curve_keys());
    peer.send_frame("intact", false);
    ASSERT_EQ(router.receive().at(1), "intact");

    const std::string sealed = peer.seal_frame("payload", false);
    ASSERT_EQ(sealed.size() - CurvePeer::box_offset(sealed), box_size);
    peer.send_raw(CurvePeer::flip_box_byte(sealed, offset));
    EXPECT_TRUE(peer.wait_closed(10s));
    EXPECT_FALSE(router.try_receive(100ms));
  }
}

TEST(CurvePeer, FlipBoxByteRefusesOffsetsPastTheBox) {
  BareRouter router;
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  const std::string sealed = peer.seal_frame("abc", false);
  EXPECT_THROW((void)CurvePeer::flip_box_byte(sealed, 16 + 1 + 3), std::out_of_range);
}

TEST(CurvePeer, AnswersPingsSoTheHeartbeatDoesNotTimeOut) {
  BareRouter router(/*heartbeat_ivl_ms=*/50, /*heartbeat_timeout_ms=*/300);
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  EXPECT_FALSE(peer.receive(1s));  // PINGs only, each answered; unanswered, libzmq would close after 350 ms
  EXPECT_GE(peer.pings_answered(), 5u);
  peer.send_frame("alive", false);
  const Frames in = router.receive();  // the PONGs went as commands, not as messages
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[1], "alive");
}

// Inside the box libzmq reads 0x01 as MORE and 0x02 as COMMAND and masks the other bits away, so 0x04 (COMMAND in
// a frame header) makes an ordinary message frame.
TEST(CurvePeer, StockRouterIgnoresOtherInnerFlagBits) {
  BareRouter router;
  CurvePeer peer(router.port, router.server_public, make_curve_keys());
  peer.send_raw(peer.seal_frame_flags(0x04, "data"));
  peer.send_raw(peer.seal_frame_flags(0x02, std::string("\x04PING\x00\x00", 7)));  // a command: not delivered
  peer.send_frame("last", false);
  EXPECT_EQ(router.receive().at(1), "data");
  EXPECT_EQ(router.receive().at(1), "last");
}

TEST(CurvePeer, WrongServerKeyFailsTheHandshake) {
  BareRouter router;
  try {
    CurvePeer peer(router.port, make_curve_keys().public_key, make_curve_keys(), std::nullopt, 5s);
    FAIL() << "the handshake succeeded with a wrong server key";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("closed the connection"), std::string::npos) << error.what();
  }
}

TEST(CurvePeer, ZapHandlerSeesTheClientKeyAndAllows) {
  BareRouter router;
  ZapHandler zap(router.context, "200");
  const CurveKeys client = make_curve_keys();
  CurvePeer peer(router.port, router.server_public, client);
  EXPECT_EQ(zap.keys(), Frames{key_bytes(client.public_key)});
  peer.send_frame("authorised", false);
  EXPECT_EQ(router.receive().at(1), "authorised");
}

TEST(CurvePeer, ZapDenialThrowsWithTheStatusCode) {
  BareRouter router;
  ZapHandler zap(router.context, "400");
  try {
    CurvePeer peer(router.port, router.server_public, make_curve_keys());
    FAIL() << "the handshake succeeded although ZAP denied it";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("ERROR '400'"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace zrelay::testing
