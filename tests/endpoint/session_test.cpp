// The endpoint's protocol logic without sockets.
#include "endpoint/session.hpp"

#include <gtest/gtest.h>

namespace zrelay::endpoint {
namespace {

using namespace protocol;

TEST(Session, OpensWithHelloThenJoins) {
  Session session({"a", "b"}, "me");
  auto messages = session.open();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(std::get<Hello>(messages[0]).name, "me");
  EXPECT_EQ(std::get<Join>(messages[1]).group, "a");
  EXPECT_EQ(std::get<Join>(messages[2]).group, "b");
  EXPECT_EQ(session.state(), SessionState::connecting);
}

TEST(Session, ActiveOnlyAfterWelcomeAndEveryJoined) {
  Session session({"a", "b"}, "me");
  (void)session.open();
  session.on_message(Joined{"a"});
  session.on_message(Welcome{1000, "v"});
  EXPECT_EQ(session.state(), SessionState::connecting);
  session.on_message(Joined{"b"});
  EXPECT_EQ(session.state(), SessionState::active);
  EXPECT_EQ(session.max_message_size(), 1000u);
}

TEST(Session, RefusedJoinFailsTheSession) {
  Session session({"a"}, "me");
  (void)session.open();
  session.on_message(Welcome{1000, "v"});
  session.on_message(ErrorReply{ErrorCode::group_full, 0, "a", "full"});
  ASSERT_EQ(session.state(), SessionState::failed);
  EXPECT_EQ(session.failure()->code(), ErrorCode::group_full);
  EXPECT_NE(std::string(session.failure()->what()).find("'a'"), std::string::npos);
}

TEST(Session, AuthFailureIsNotAuthorized) {
  Session session({}, "me");
  (void)session.open();
  session.on_auth_failed(400);
  ASSERT_EQ(session.state(), SessionState::failed);
  EXPECT_EQ(session.failure()->code(), ErrorCode::not_authorized);
}

TEST(Session, ErrorsWhileActiveAreRefusalsNotFailures) {
  Session session({}, "me");
  (void)session.open();
  session.on_message(Welcome{1000, "v"});
  session.on_message(ErrorReply{ErrorCode::queue_full, 12, "q", "full"});
  EXPECT_EQ(session.state(), SessionState::active);
  auto refusals = session.take_refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].seq, 12u);
  EXPECT_TRUE(session.take_refusals().empty());
}

TEST(Session, DeliveriesBecomeMessages) {
  Session session({"g"}, "me");
  (void)session.open();
  session.on_message(Deliver{"g", Kind::produced, 7, zmq::message_t(std::string("raw"))});
  auto messages = session.take_deliveries();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].group(), "g");
  EXPECT_EQ(messages[0].kind(), Kind::produced);
  EXPECT_EQ(messages[0].delivery_id(), 7u);
  EXPECT_EQ(messages[0].text(), "raw");
}

TEST(Session, CloseSaysByeAndWaitsForGoodbye) {
  Session session({}, "me");
  (void)session.open();
  session.on_message(Welcome{1000, "v"});
  auto bye = session.close();
  ASSERT_TRUE(bye.has_value());
  EXPECT_TRUE(std::holds_alternative<Bye>(*bye));
  EXPECT_EQ(session.state(), SessionState::closing);
  session.on_message(Goodbye{});
  EXPECT_EQ(session.state(), SessionState::closed);
}

TEST(Session, CloseBeforeActiveHasNothingToSay) {
  Session session({"g"}, "me");
  (void)session.open();
  EXPECT_FALSE(session.close().has_value());
  EXPECT_EQ(session.state(), SessionState::closed);
}

}  // namespace
}  // namespace zrelay::endpoint
