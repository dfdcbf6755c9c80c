#include "broker/handshake_watch.hpp"

#include <set>

#include <gtest/gtest.h>
#include <zmq.h>

namespace zrelay::broker {
namespace {

// libzmq's HANDSHAKE_SUCCEEDED carries 0, not the descriptor: the watch asks the sockets instead.
struct FakeSockets {
  std::set<int> past_welcome;
  HandshakeWatch watch{[this](int fd) { return past_welcome.count(fd) != 0; }};
};

TEST(HandshakeWatch, OnlyConnectionsThatNeverAuthenticatedAreReported) {
  FakeSockets sockets;
  HandshakeWatch& watch = sockets.watch;
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 7, "10.0.0.9:4000"));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 8, "10.0.0.5:4001"));
  sockets.past_welcome.insert(8);
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, ""));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 8, "")) << "an authenticated client leaving is no news";
  const auto line = watch.on_event(ZMQ_EVENT_DISCONNECTED, 7, "");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "a connection from 10.0.0.9:4000 closed before completing the handshake");
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 7, "")) << "reported once";
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 9, "10.0.0.1:1"));
  sockets.past_welcome.insert(9);
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400, "")) << "the ZAP handler logs refused keys";
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 9, ""));
  const auto protocol = watch.on_event(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, 0x11, "");
  ASSERT_TRUE(protocol);
  EXPECT_NE(protocol->find("protocol error 0x11"), std::string::npos);
}

TEST(HandshakeWatch, ASuccessWhoseConnectionClosedAlreadyExcusesTheNextClose) {
  FakeSockets sockets;
  HandshakeWatch& watch = sockets.watch;
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 5, "10.0.0.2:1"));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, "")) << "descriptor 5 is closed: no answer";
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 5, ""));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 5, "10.0.0.3:2"));
  EXPECT_TRUE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 5, "")) << "the excuse was used once";
}

}  // namespace
}  // namespace zrelay::broker
