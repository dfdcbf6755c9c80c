// Regression tests of zrelay's libzmq patches (third_party/libzmq/patches), each against a bare
// libzmq socket of the linked (patched) libzmq, so that they fail on stock libzmq 4.3.4: there
// they abort the test process or see the old behaviour. A peer that sends what libzmq never sends
// (boxes replayed or tampered with, a multipart message without an end) is a CurvePeer.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/support/curve_peer.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using testing::CurveKeys;
using testing::CurvePeer;

constexpr int timeout_ms = 10000;

std::string endpoint_of(zmq::socket_t& socket) { return socket.get(zmq::sockopt::last_endpoint); }

std::uint16_t port_of(zmq::socket_t& socket) {
  const std::string address = endpoint_of(socket);
  return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

struct Keys {
  std::string public_z85, secret_z85;
};

Keys new_keys() {
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) throw std::runtime_error("zmq_curve_keypair failed");
  return {pub.data(), sec.data()};
}

// One multipart message from a ROUTER: routing id first. Empty if nothing within the timeout.
std::vector<std::string> receive(zmq::socket_t& socket, std::chrono::milliseconds timeout = 10s) {
  std::vector<std::string> frames;
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) return frames;
  do {
    zmq::message_t frame;
    (void)socket.recv(frame);
    frames.push_back(frame.to_string());
  } while (socket.get(zmq::sockopt::rcvmore));
  return frames;
}

void send(zmq::socket_t& socket, const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    zmq::message_t frame(frames[i].data(), frames[i].size());
    (void)socket.send(frame, i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

// A plain (NULL mechanism) ROUTER and DEALERs connecting to it.
class PlainRouter : public ::testing::Test {
 protected:
  PlainRouter() : router(context, zmq::socket_type::router) {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, 1);
    router.bind("tcp://127.0.0.1:*");
  }

  zmq::socket_t dealer(const std::string& routing_id = {}) {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    if (!routing_id.empty()) socket.set(zmq::sockopt::routing_id, routing_id);
    socket.connect(endpoint_of(router));
    return socket;
  }

  // The routing id the ROUTER gives `socket`, learnt from one message.
  std::string routing_id_of(zmq::socket_t& socket) {
    send(socket, {"hi"});
    const auto frames = receive(router);
    if (frames.size() != 2 || frames[1] != "hi") throw std::runtime_error("no message from the dealer");
    return frames[0];
  }

  zmq::context_t context;
  zmq::socket_t router;
};

// Patch 0001: an announced routing id is never adopted.
TEST_F(PlainRouter, RouterIgnoresAnnouncedRoutingId) {
  auto announcing = dealer("ABC");
  const std::string id = routing_id_of(announcing);
  EXPECT_NE(id, "ABC");
  ASSERT_EQ(id.size(), 5u);
  EXPECT_EQ(id[0], '\0');
}

// Patch 0001: stock libzmq aborts in add_out_pipe when the next generated id was announced.
TEST_F(PlainRouter, RouterSurvivesAnnouncedNextId) {
  auto first = dealer();
  const std::string first_id = routing_id_of(first);
  std::string next = first_id;
  for (int i = 4; i >= 1; --i)  // big-endian counter in bytes 1..4, plus one
    if (++reinterpret_cast<unsigned char&>(next[static_cast<std::size_t>(i)]) != 0) break;
  auto squatter = dealer(next);
  const std::string squatter_id = routing_id_of(squatter);
  auto honest = dealer();
  const std::string honest_id = routing_id_of(honest);
  EXPECT_NE(honest_id, squatter_id);
  EXPECT_NE(honest_id, first_id);
  send(router, {honest_id, "answer"});
  zmq::message_t answer;
  honest.set(zmq::sockopt::rcvtimeo, timeout_ms);
  ASSERT_TRUE(honest.recv(answer));
  EXPECT_EQ(answer.to_string(), "answer");
}

// Patch 0001: a new connection announcing the id of one that left never gets what is sent to it.
TEST_F(PlainRouter, AnnouncedIdOfAGonePeerIsNotTakenOver) {
  std::string gone_id;
  {
    auto gone = dealer();
    gone_id = routing_id_of(gone);
  }
  // Until the ROUTER has seen the disconnection, sending to the old id still works; afterwards
  // ROUTER_MANDATORY refuses it. Either way the newcomer must get nothing.
  auto newcomer = dealer(gone_id);
  EXPECT_NE(routing_id_of(newcomer), gone_id);
  zmq::message_t frame(std::string("for the gone peer"));
  try {
    (void)router.send(zmq::message_t(gone_id.data(), gone_id.size()), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    (void)router.send(frame, zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    EXPECT_EQ(e.num(), EHOSTUNREACH);
  }
  zmq::pollitem_t item{newcomer.handle(), 0, ZMQ_POLLIN, 0};
  EXPECT_EQ(zmq::poll(&item, 1, 300ms), 0) << "the newcomer received what was sent to the gone peer";
}

// A CURVE ROUTER with a socket monitor and ZMTP heartbeats, as the broker runs it.
class CurveRouter : public ::testing::Test {
 protected:
  CurveRouter()
      : server(new_keys()),
        client(new_keys()),
        router(context, zmq::socket_type::router),
        monitor(context, zmq::socket_type::pair) {
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::curve_server, 1);
    router.set(zmq::sockopt::curve_secretkey, server.secret_z85);
    // PINGs every 50 ms drive out_event (where stock libzmq aborted after a bad box); no timeout
    // of its own closes a silent peer, so a closed connection is the patch's doing.
    router.set(zmq::sockopt::heartbeat_ivl, 50);
    router.set(zmq::sockopt::heartbeat_timeout, 600000);
    router.set(zmq::sockopt::maxmsgsize, max_message_size);
    const std::string address = "inproc://monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    if (zmq_socket_monitor(router.handle(), address.c_str(), ZMQ_EVENT_ALL) != 0) throw zmq::error_t();
    monitor.connect(address);
    router.bind("tcp://127.0.0.1:*");
  }

  CurvePeer peer() {
    return CurvePeer(port_of(router), testing::curve_key_from_z85(server.public_z85),
                     testing::curve_keys_from_z85(client.public_z85, client.secret_z85));
  }

  // A peer whose first frame the ROUTER has received, some milliseconds ago. The pause is the
  // bug's precondition, not a wait for a condition: libzmq handles a socket's commands at most
  // once per millisecond or so (rdtsc throttle), and only a monitor event sent outside that
  // window overwrites errno. Right after the handshake's own events it never does.
  CurvePeer settled_peer() {
    CurvePeer p = peer();
    p.send_frame("first", false);
    auto frames = receive(router);
    while (frames.size() == 2 && frames[1] != "first") frames = receive(router);  // an earlier peer's
    if (frames.size() != 2) throw std::runtime_error("the first frame did not arrive");
    std::this_thread::sleep_for(5ms);
    return p;
  }

  // Reads the monitor's events as they come (as the broker does) until `event` or the timeout.
  bool saw_event(std::uint16_t event, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    zmq::pollitem_t item{monitor.handle(), 0, ZMQ_POLLIN, 0};
    while (std::chrono::steady_clock::now() < deadline) {
      if (zmq::poll(&item, 1, 50ms) == 0) continue;
      zmq::message_t head, address;
      (void)monitor.recv(head);
      (void)monitor.recv(address);
      std::uint16_t id = 0;
      std::memcpy(&id, head.data(), sizeof id);
      if (id == event) return true;
    }
    return false;
  }

  // A well-behaved CURVE DEALER still gets an answer: the ROUTER's process is alive and serving.
  void expect_router_serves() {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::curve_serverkey, server.public_z85);
    socket.set(zmq::sockopt::curve_publickey, client.public_z85);
    socket.set(zmq::sockopt::curve_secretkey, client.secret_z85);
    socket.set(zmq::sockopt::rcvtimeo, timeout_ms);
    socket.connect(endpoint_of(router));
    send(socket, {"ping"});
    auto frames = receive(router);
    while (frames.size() == 2 && frames[1] != "ping") frames = receive(router);  // the attackers' valid frames
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1], "ping");
    send(router, {frames[0], "pong"});
    zmq::message_t answer;
    ASSERT_TRUE(socket.recv(answer));
    EXPECT_EQ(answer.to_string(), "pong");
  }

  static constexpr std::int64_t max_message_size = 1 << 20;
  zmq::context_t context;
  Keys server, client;
  zmq::socket_t router;
  zmq::socket_t monitor;
};

// Patch 0002: a replayed box closes the connection at once; stock libzmq stops reading instead
// and aborts (zmq_assert (!_io_error)) once the peer has sent one more frame and left.
TEST_F(CurveRouter, BadBoxClosesConnectionReplayed) {
  for (int round = 0; round < 4; ++round) {
    CurvePeer attacker = settled_peer();
    const std::string first = attacker.seal_frame("one", false);
    attacker.send_raw(first);
    attacker.send_raw(first);  // the same nonce again
    attacker.send_frame("after", false);
    EXPECT_TRUE(attacker.wait_closed(10s)) << "round " << round;
    attacker.close();
  }
  EXPECT_TRUE(saw_event(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL));
  expect_router_serves();
}

TEST_F(CurveRouter, BadBoxClosesConnectionOutOfOrder) {
  for (int round = 0; round < 4; ++round) {
    CurvePeer attacker = settled_peer();
    const std::string n = attacker.seal_frame("n", false);
    const std::string n_plus_1 = attacker.seal_frame("n+1", false);
    attacker.send_raw(n_plus_1);
    attacker.send_raw(n);
    attacker.send_frame("after", false);
    EXPECT_TRUE(attacker.wait_closed(10s)) << "round " << round;
    attacker.close();
  }
  expect_router_serves();
}

TEST_F(CurveRouter, BadBoxClosesConnectionFlippedByte) {
  for (int round = 0; round < 4; ++round) {
    CurvePeer attacker = settled_peer();
    std::string box = attacker.seal_frame("tampered with", false);
    box[box.size() - 3] = static_cast<char>(box[box.size() - 3] ^ 0x20);  // inside the ciphertext
    attacker.send_raw(box);
    attacker.send_frame("after", false);
    EXPECT_TRUE(attacker.wait_closed(10s)) << "round " << round;
    attacker.close();
  }
  expect_router_serves();
}

// Patch 0003: frames with MORE and never a last one: stock libzmq buffers them all.
TEST_F(CurveRouter, EndlessMultipartIsCutOff) {
  CurvePeer attacker = peer();
  const std::string frame(256 * 1024, 'x');
  bool closed = false;
  for (int i = 0; i < 64 && !closed; ++i) {  // 16 MiB if never cut off
    try {
      attacker.send_frame(frame, true);
    } catch (const std::exception&) {
      closed = true;  // the write failed: the router closed the connection
    }
  }
  EXPECT_TRUE(closed || attacker.wait_closed(10s));
  EXPECT_TRUE(receive(router, 100ms).empty());
  expect_router_serves();
}

// Patch 0003: the bound is the whole message (frames added up), and it starts again per message.
TEST_F(CurveRouter, LimitIsTheWholeMessage) {
  CurvePeer sender = peer();
  const std::string half(max_message_size / 2, 'h');
  for (int i = 0; i < 3; ++i) sender.send_message({half, half});  // exactly the limit, three times
  for (int i = 0; i < 3; ++i) {
    const auto frames = receive(router);
    ASSERT_EQ(frames.size(), 3u) << "message " << i;
    EXPECT_EQ(frames[1].size() + frames[2].size(), static_cast<std::size_t>(max_message_size));
  }
  sender.send_message({half, half + "!"});  // one byte over
  EXPECT_TRUE(sender.wait_closed(10s));
  EXPECT_TRUE(receive(router, 100ms).empty());
}

}  // namespace
}  // namespace zrelay
