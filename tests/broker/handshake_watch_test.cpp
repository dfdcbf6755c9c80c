#include "broker/handshake_watch.hpp"

#include <gtest/gtest.h>
#include <zmq.h>

namespace zrelay::broker {
namespace {

TEST(HandshakeWatch, OnlyConnectionsThatNeverAuthenticatedAreReported) {
  HandshakeWatch watch;
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 7, "10.0.0.9:4000"));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 8, "10.0.0.5:4001"));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 8, ""));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 8, "")) << "an authenticated client leaving is no news";
  const auto line = watch.on_event(ZMQ_EVENT_DISCONNECTED, 7, "");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "a connection from 10.0.0.9:4000 closed before completing the handshake");
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 7, "")) << "reported once";
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_ACCEPTED, 9, "10.0.0.1:1"));
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 9, "")) << "the ZAP handler logs refused keys";
  EXPECT_FALSE(watch.on_event(ZMQ_EVENT_DISCONNECTED, 9, ""));
  const auto protocol = watch.on_event(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, 0x11, "");
  ASSERT_TRUE(protocol);
  EXPECT_NE(protocol->find("protocol error 0x11"), std::string::npos);
}

}  // namespace
}  // namespace zrelay::broker
