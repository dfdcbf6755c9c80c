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

TEST(Session, EveryHelloCarriesTheEndpointIdAndDeliveriesTheirObjectId) {
  const EndpointId id{7, 7, 7};
  Session session({}, "me", 256, id);
  EXPECT_EQ(std::get<Hello>(session.open()[0]).endpoint_id, id);
  session.on_message(Welcome{1000, "v"});
  session.lose("gone");
  EXPECT_EQ(std::get<Hello>(session.open()[0]).endpoint_id, id) << "the same on a new session";
  session.on_message(Deliver{"g", Kind::produced, 3, 1, zmq::message_t(std::string("x")), ObjectId{{1}, 9, 2}});
  const auto got = session.take_deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object_id(), (ObjectId{{1}, 9, 2}));
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
  session.on_message(Deliver{"g", Kind::produced, 7, 2, zmq::message_t(std::string("raw"))});
  auto messages = session.take_deliveries();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].group(), "g");
  EXPECT_EQ(messages[0].kind(), Kind::produced);
  EXPECT_EQ(messages[0].delivery_id(), 7u);
  EXPECT_EQ(messages[0].attempt(), 2u);
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

// --- across sessions ---

Welcome welcome_from(std::uint64_t instance) { return Welcome{1000, "v", instance, 500, 1500}; }

// A session opened once with groups {"g"} by a broker with `instance`.
Session active_session(std::uint64_t instance = 1) {
  Session session({"g"}, "me", 4);
  (void)session.open();
  session.on_message(welcome_from(instance));
  session.on_message(Joined{"g"});
  EXPECT_EQ(session.state(), SessionState::active);
  (void)session.take_events();
  return session;
}

// Loses the session and opens a new one with a broker of `instance`, up to its WELCOME.
void reopen(Session& session, std::uint64_t instance) {
  session.lose("gone");
  (void)session.take_events();
  (void)session.open();
  session.on_message(welcome_from(instance));
}

zmq::message_t bytes(const std::string& text) { return zmq::message_t(text.data(), text.size()); }

TEST(SessionAcrossSessions, WelcomeSetsTheBrokersHeartbeatAndLiveness) {
  const Session session = active_session();
  EXPECT_EQ(session.heartbeat_ms(), 500u);
  EXPECT_EQ(session.liveness_ms(), 1500u);
}

TEST(SessionAcrossSessions, ALossBeforeTheFirstSessionChangesNothing) {
  Session session({"g"}, "me");
  (void)session.open();
  session.lose("connection refused");
  EXPECT_EQ(session.state(), SessionState::connecting);
  EXPECT_TRUE(session.take_events().empty());
}

TEST(SessionAcrossSessions, ANewSessionResendsUnconfirmedObjectsAndOutstandingCredits) {
  Session session = active_session();
  (void)session.outgoing(Ready{"g", 3});
  (void)session.outgoing(Produce{5, "g", 1, bytes("item")});
  (void)session.outgoing(Broadcast{6, "g", bytes("weights")});
  session.on_message(Deliver{"g", Kind::produced, 40, 1, bytes("x")});  // uses one of the 3 credits
  session.lose("connection reset");
  ASSERT_EQ(session.state(), SessionState::reconnecting);
  auto events = session.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state, ConnectionState::reconnecting);
  EXPECT_EQ(events[0].detail, "connection reset");

  const auto opening = session.open();
  EXPECT_EQ(opening.size(), 2u);  // HELLO, JOIN g
  EXPECT_TRUE(session.take_outgoing().empty()) << "nothing is resent before the new session is open";
  session.on_message(welcome_from(1));
  session.on_message(Joined{"g"});
  ASSERT_EQ(session.state(), SessionState::active);

  auto resent = session.take_outgoing();
  ASSERT_EQ(resent.size(), 3u);
  EXPECT_EQ(std::get<Ready>(resent[0]).credits, 2);
  EXPECT_EQ(std::get<Produce>(resent[1]).seq, 5u);
  EXPECT_EQ(std::get<Produce>(resent[1]).payload.to_string(), "item");
  EXPECT_EQ(std::get<Broadcast>(resent[2]).seq, 6u);
  events = session.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].state, ConnectionState::connected);
  EXPECT_EQ(events[0].resent, 2u);
  EXPECT_FALSE(events[0].broker_restarted);
}

// notify(g, 100), 100 items arrive, the application took 10 when the session was lost: the 90
// discarded ones go back to the broker's queue, and the new session asks for them again.
TEST(SessionAcrossSessions, CreditsOfItemsNeverTakenAreAskedForAgain) {
  Session session = active_session();
  (void)session.outgoing(Ready{"g", 100});
  for (std::uint64_t id = 1; id <= 100; ++id) session.on_message(Deliver{"g", Kind::produced, id, 1, bytes("x")});
  session.lose("connection reset");
  EXPECT_EQ(session.return_untaken({{"g", 90}}), 90u);
  (void)session.open();
  session.on_message(welcome_from(1));
  session.on_message(Joined{"g"});
  auto resent = session.take_outgoing();
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(std::get<Ready>(resent[0]).credits, 90);
}

// Items that came without a credit (READY -1: what is queued now) give none back.
TEST(SessionAcrossSessions, ReturnedCreditsAreAtMostTheCreditsDeliveriesUsed) {
  Session session = active_session();
  (void)session.outgoing(Ready{"g", 2});
  for (std::uint64_t id = 1; id <= 5; ++id) session.on_message(Deliver{"g", Kind::produced, id, 1, bytes("x")});
  session.lose("connection reset");
  (void)session.return_untaken({{"g", 5}, {"other", 5}});
  (void)session.open();
  session.on_message(welcome_from(1));
  session.on_message(Joined{"g"});
  auto resent = session.take_outgoing();
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(std::get<Ready>(resent[0]).group, "g");
  EXPECT_EQ(std::get<Ready>(resent[0]).credits, 2);
}

TEST(SessionAcrossSessions, APongConfirmsWhatWasSentBeforeItsPing) {
  Session session = active_session();
  (void)session.outgoing(Produce{1, "g", 1, bytes("a")});
  const Ping ping = session.heartbeat();
  (void)session.outgoing(Produce{2, "g", 1, bytes("b")});
  EXPECT_EQ(session.unconfirmed(), 2u);
  session.on_message(Pong{ping.token});
  EXPECT_EQ(session.unconfirmed(), 1u);
  reopen(session, 1);
  session.on_message(Joined{"g"});
  auto resent = session.take_outgoing();
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(std::get<Produce>(resent[0]).seq, 2u);
}

TEST(SessionAcrossSessions, ConfirmationIsDueAfterPingEveryObjects) {
  Session session = active_session();  // ping_every 4
  for (std::uint64_t seq = 1; seq <= 3; ++seq) (void)session.outgoing(Produce{seq, "g", 1, bytes("x")});
  EXPECT_FALSE(session.confirmation_due());
  (void)session.outgoing(Produce{4, "g", 1, bytes("x")});
  EXPECT_TRUE(session.confirmation_due());
  (void)session.heartbeat();
  EXPECT_FALSE(session.confirmation_due());
}

TEST(SessionAcrossSessions, SyncTokensAreConfirmedThroughWireTokens) {
  Session session = active_session();
  (void)session.heartbeat();  // wire token 1, no sync
  const auto wire = session.outgoing(Ping{7});
  const std::uint64_t token = std::get<Ping>(wire).token;
  EXPECT_NE(token, 7u) << "wire tokens are the session's own, in send order";
  session.on_message(Pong{token - 1});
  EXPECT_EQ(session.confirmed_sync(), 0u);
  session.on_message(Pong{token});
  EXPECT_EQ(session.confirmed_sync(), 7u);
}

TEST(SessionAcrossSessions, AnUnconfirmedSyncIsSentAgainAndConfirmedInTheNewSession) {
  Session session = active_session();
  (void)session.outgoing(Ping{3});
  reopen(session, 1);
  session.on_message(Joined{"g"});
  auto resent = session.take_outgoing();
  ASSERT_EQ(resent.size(), 1u);
  session.on_message(Pong{std::get<Ping>(resent[0]).token});
  EXPECT_EQ(session.confirmed_sync(), 3u);
}

TEST(SessionAcrossSessions, ABrokerWithAnotherInstanceIdIsReportedAsRestarted) {
  Session session = active_session(1);
  reopen(session, 2);
  session.on_message(Joined{"g"});
  const auto events = session.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].broker_restarted);
  EXPECT_NE(events[0].detail.find("restarted"), std::string::npos);
}

TEST(SessionAcrossSessions, AnUnsolicitedGoodbyeLosesTheSession) {
  Session session = active_session();
  session.on_message(Goodbye{GoodbyeReason::shutting_down});
  EXPECT_EQ(session.state(), SessionState::reconnecting);
  const auto events = session.take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].detail.find("shutting down"), std::string::npos);
}

TEST(SessionAcrossSessions, HelloExpectedWhileActiveMeansTheBrokerForgotTheSession) {
  Session session = active_session();
  session.on_message(ErrorReply{ErrorCode::hello_expected, 0, "", "send HELLO first"});
  EXPECT_EQ(session.state(), SessionState::reconnecting);
  EXPECT_TRUE(session.take_refusals().empty());
}

// A full group (the old session may still hold its place) and a broker at its budget (found by
// the endpoint simulation: the endpoint failed for good) refuse a new session's JOIN only for now.
TEST(SessionAcrossSessions, AFullGroupOrABudgetUsedUpOnANewSessionIsRetriedNotFatal) {
  for (const ErrorCode code : {ErrorCode::group_full, ErrorCode::over_budget}) {
    Session session = active_session();
    reopen(session, 1);
    session.on_message(ErrorReply{code, 0, "g", "refused for now"});
    EXPECT_EQ(session.state(), SessionState::reconnecting) << to_string(code);
  }
}

// The broker forgot the session while it was opening (its JOINs arrived after the liveness
// window): found by the endpoint simulation, where this failed the endpoint for good.
TEST(SessionAcrossSessions, HelloExpectedWhileOpeningTriesANewSession) {
  Session session({"g"}, "me");
  (void)session.open();
  session.on_message(welcome_from(1));
  session.on_message(ErrorReply{ErrorCode::hello_expected, 0, "", "send HELLO first"});
  EXPECT_EQ(session.state(), SessionState::reconnecting);
  EXPECT_FALSE(session.failure().has_value());
}

TEST(SessionAcrossSessions, AnUnknownGroupOnANewSessionIsFatal) {
  Session session = active_session();
  reopen(session, 2);
  session.on_message(ErrorReply{ErrorCode::unknown_group, 0, "g", "not accepted"});
  EXPECT_EQ(session.state(), SessionState::failed);
  EXPECT_EQ(session.failure()->code(), ErrorCode::unknown_group);
}

TEST(SessionAcrossSessions, LosingTheSessionWhileClosingFails) {
  Session session = active_session();
  ASSERT_TRUE(session.close().has_value());
  session.lose("connection reset");
  EXPECT_EQ(session.state(), SessionState::failed);
  EXPECT_EQ(session.failure()->code(), ErrorCode::connection_failed);
}

TEST(SessionAcrossSessions, OnlyAGoodbyeAnsweringByeClosesTheSession) {
  Session session = active_session();
  ASSERT_TRUE(session.close().has_value());
  session.on_message(Goodbye{GoodbyeReason::shutting_down});
  EXPECT_EQ(session.state(), SessionState::failed);
  Session other = active_session();
  ASSERT_TRUE(other.close().has_value());
  other.on_message(Goodbye{GoodbyeReason::bye});
  EXPECT_EQ(other.state(), SessionState::closed);
}

}  // namespace
}  // namespace zrelay::endpoint
