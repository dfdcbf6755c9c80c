// The broker's logic without sockets: messages in, addressed messages out.
#include "tests/broker/core_fixture.hpp"

#include <algorithm>
#include <limits>

#include "protocol/limits.hpp"

#include <gtest/gtest.h>

namespace zrelay::broker {
namespace {

using namespace protocol;


TEST_F(BrokerCoreTest, CommandsBeforeHelloAreRefused) {
  auto out = send("a", Join{"g"});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::hello_expected);
  EXPECT_EQ(core->client_count(), 0u);
}

// A second HELLO is answered again but changes nothing: the session keeps its name and state.
TEST_F(BrokerCoreTest, ASecondHelloChangesNothing) {
  hello("c");
  join("c", "g");
  auto out = send("c", Hello{"renamed"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Welcome>(out[0].message));
  const auto stats = core->statistics();
  ASSERT_EQ(stats.sessions.size(), 1u);
  EXPECT_EQ(stats.sessions[0].hello_name, "c");
  EXPECT_EQ(stats.sessions[0].groups, std::vector<std::string>{"g"});
}

TEST_F(BrokerCoreTest, WelcomeCarriesTheSizeLimit) {
  auto out = send("a", Hello{"a"});
  EXPECT_EQ(std::get<Welcome>(out.at(0).message).max_message_size, BrokerLimits{}.max_message_size);
}

TEST_F(BrokerCoreTest, AnotherKeyOnTheSameRoutingIdIsRefused) {
  hello("a");
  core->handle("a", "key-mallory", Join{"g"});
  auto out = core->take_outbox();
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::not_authorized);
  EXPECT_EQ(core->group("g"), nullptr);
}

TEST_F(BrokerCoreTest, QuickStartScenario) {
  // tlspyo's README: a producer broadcasts and produces to "consumers"; consumer 1 notifies.
  hello("prod");
  hello("c1");
  hello("c2");
  join("prod", "producers");
  join("c1", "consumers");
  join("c2", "consumers");
  auto out = send("prod", Broadcast{1, "consumers", bytes("I HAVE BEEN BROADCAST")});
  EXPECT_EQ(payloads_to(out, "c1", Kind::broadcast), std::vector<std::string>{"I HAVE BEEN BROADCAST"});
  EXPECT_EQ(payloads_to(out, "c2", Kind::broadcast), std::vector<std::string>{"I HAVE BEEN BROADCAST"});
  EXPECT_TRUE(payloads_to(out, "prod", Kind::broadcast).empty()) << "the producer is not a member";
  EXPECT_TRUE(send("prod", Produce{2, "consumers", 1, bytes("I HAVE BEEN PRODUCED")}).empty());
  out = send("c1", Ready{"consumers", 1});
  EXPECT_EQ(payloads_to(out, "c1", Kind::produced), std::vector<std::string>{"I HAVE BEEN PRODUCED"});
  EXPECT_EQ(core->group("consumers")->queue_size(), 0u);
}

TEST_F(BrokerCoreTest, LateJoinerGetsTheLastValueRightAfterJoined) {
  hello("a");
  hello("late");
  (void)send("a", Broadcast{1, "g", bytes("v1")});
  (void)send("a", Broadcast{2, "g", bytes("v2")});
  auto out = send("late", Join{"g"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Joined>(out[0].message));
  EXPECT_EQ(payloads_to(out, "late", Kind::broadcast), std::vector<std::string>{"v2"});
}

TEST_F(BrokerCoreTest, CreditsWaitAtTheBrokerUntilItemsArrive) {
  hello("p");
  hello("c");
  join("c", "g");
  EXPECT_TRUE(send("c", Ready{"g", 2}).empty());
  EXPECT_EQ(payloads_to(send("p", Produce{1, "g", 1, bytes("1")}), "c", Kind::produced).size(), 1u);
  EXPECT_EQ(payloads_to(send("p", Produce{2, "g", 1, bytes("2")}), "c", Kind::produced).size(), 1u);
  EXPECT_TRUE(send("p", Produce{3, "g", 1, bytes("3")}).empty()) << "credits used up: the item waits";
  EXPECT_EQ(core->group("g")->queue_size(), 1u);
}

TEST_F(BrokerCoreTest, NotifyWithSeveralCreditsTakesThatManyInFifoOrder) {
  hello("p");
  hello("c");
  join("c", "g");
  for (int i = 0; i < 5; ++i) (void)send("p", Produce{0, "g", 1, bytes(std::to_string(i))});
  auto out = send("c", Ready{"g", 3});
  EXPECT_EQ(payloads_to(out, "c", Kind::produced), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(core->group("g")->queue_size(), 2u);
}

TEST_F(BrokerCoreTest, NegativeNotifyTakesEverythingQueuedNowAndKeepsNoCredit) {
  hello("p");
  hello("c");
  join("c", "g");
  for (int i = 0; i < 4; ++i) (void)send("p", Produce{0, "g", 1, bytes(std::to_string(i))});
  auto out = send("c", Ready{"g", -1});
  EXPECT_EQ(payloads_to(out, "c", Kind::produced), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_TRUE(send("p", Produce{0, "g", 1, bytes("later")}).empty());
  EXPECT_EQ(core->group("g")->queue_size(), 1u);
}

TEST_F(BrokerCoreTest, ConsumersShareTheQueueWithoutDuplicates) {
  hello("p");
  for (const char* c : {"c1", "c2", "c3"}) {
    hello(c);
    join(c, "g");
    (void)send(c, Ready{"g", 100});
  }
  std::vector<std::string> seen;
  for (int i = 0; i < 90; ++i) {
    for (const auto& o : send("p", Produce{0, "g", 1, bytes(std::to_string(i))})) {
      seen.push_back(std::get<Deliver>(o.message).payload.to_string());
    }
  }
  ASSERT_EQ(seen.size(), 90u);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(core->group("g")->credits("c1"), 70) << "credit holders take turns";
  EXPECT_EQ(core->group("g")->credits("c2"), 70);
  EXPECT_EQ(core->group("g")->credits("c3"), 70);
}

TEST_F(BrokerCoreTest, CopiesBecomeSeparateItems) {
  hello("p");
  hello("c1");
  hello("c2");
  join("c1", "g");
  join("c2", "g");
  (void)send("p", Produce{0, "g", 3, bytes("x")});
  EXPECT_EQ(core->group("g")->queue_size(), 3u);
  EXPECT_EQ(payloads_to(send("c1", Ready{"g", 2}), "c1", Kind::produced).size(), 2u);
  EXPECT_EQ(payloads_to(send("c2", Ready{"g", 5}), "c2", Kind::produced).size(), 1u);
}

TEST_F(BrokerCoreTest, ReadyNeedsMembershipAndNonZeroCredits) {
  hello("c");
  auto out = send("c", Ready{"g", 1});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::not_member);
  join("c", "g");
  out = send("c", Ready{"g", 0});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::invalid_argument);
}

TEST_F(BrokerCoreTest, CreditsAreCapped) {
  hello("c");
  join("c", "g");
  (void)send("c", Ready{"g", std::numeric_limits<std::int32_t>::max()});
  (void)send("c", Ready{"g", std::numeric_limits<std::int32_t>::max()});
  EXPECT_EQ(core->group("g")->credits("c"), max_credits);
}

TEST_F(BrokerCoreTest, MultipleGroupsPerEndpoint) {
  hello("p");
  hello("c");
  join("c", "a");
  join("c", "b");
  auto out = send("p", Broadcast{0, "a", bytes("to-a")});
  EXPECT_EQ(payloads_to(out, "c", Kind::broadcast), std::vector<std::string>{"to-a"});
  EXPECT_EQ(std::get<Deliver>(out[0].message).group, "a");
  out = send("p", Broadcast{0, "b", bytes("to-b")});
  EXPECT_EQ(std::get<Deliver>(out[0].message).group, "b");
}

TEST_F(BrokerCoreTest, AcceptedGroupsRefuseUnknownAndFullGroups) {
  BrokerLimits limits;
  limits.accepted_groups = {GroupOptions{"small", 1, 10, Overflow::refuse}};
  make_core(limits);
  hello("a");
  hello("b");
  auto out = send("a", Join{"other"});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::unknown_group);
  EXPECT_EQ(error_in(out)->group, "other");
  out = send("a", Produce{9, "other", 1, bytes("x")});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->seq, 9u);
  join("a", "small");
  out = send("b", Join{"small"});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::group_full);
  (void)send("a", Bye{});
  join("b", "small");
}

TEST_F(BrokerCoreTest, FullQueueRefusesAndTellsTheProducer) {
  make_core_with_queue(2);
  hello("p");
  EXPECT_EQ(error_in(send("p", Produce{1, "g", 1, bytes("1")})), nullptr);
  EXPECT_EQ(error_in(send("p", Produce{2, "g", 1, bytes("2")})), nullptr);
  auto out = send("p", Produce{3, "g", 1, bytes("3")});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::queue_full);
  EXPECT_EQ(error_in(out)->seq, 3u);
  EXPECT_EQ(core->group("g")->queue_size(), 2u);
  EXPECT_EQ(core->group("g")->stats.refused, 1u);
}

TEST_F(BrokerCoreTest, DropOldestTellsTheProducerOfTheDroppedItem) {
  make_core_with_queue(2, Overflow::drop_oldest);
  hello("p1");
  hello("p2");
  hello("c");
  join("c", "g");
  (void)send("p1", Produce{11, "g", 1, bytes("old")});
  (void)send("p2", Produce{21, "g", 1, bytes("mid")});
  auto out = send("p2", Produce{22, "g", 1, bytes("new")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, "p1");
  EXPECT_EQ(std::get<ErrorReply>(out[0].message).code, ErrorCode::item_dropped);
  EXPECT_EQ(std::get<ErrorReply>(out[0].message).seq, 11u);
  EXPECT_EQ(payloads_to(send("c", Ready{"g", -1}), "c", Kind::produced), (std::vector<std::string>{"mid", "new"}));
}

// One PRODUCE of 65535 copies into a queue of 10 with no consumer pushes out 65525 items: their
// producer gets one item_dropped per object, with the count, not one per item (which overflowed
// its backlog, so it was forgotten and resent the PRODUCE, again and again).
TEST_F(BrokerCoreTest, DropOldestSaysOncePerObjectHowManyOfItsItemsWereDropped) {
  make_core_with_queue(10, Overflow::drop_oldest);
  hello("p");
  (void)send("p", Produce{1, "g", 3, bytes("older")});
  auto out = send("p", Produce{2, "g", 65535, bytes("x")});
  ASSERT_EQ(out.size(), 2u);
  const auto& first = std::get<ErrorReply>(out[0].message);
  const auto& second = std::get<ErrorReply>(out[1].message);
  EXPECT_EQ(first.code, ErrorCode::item_dropped);
  EXPECT_EQ(first.seq, 1u);
  EXPECT_NE(first.text.find("3 items of this object"), std::string::npos) << first.text;
  EXPECT_EQ(second.seq, 2u);
  EXPECT_NE(second.text.find("65525 items of this object"), std::string::npos) << second.text;
  EXPECT_EQ(core->group("g")->stats.dropped, 65528u);
  EXPECT_EQ(core->client_count(), 1u) << "the producer is still there";
}

TEST_F(BrokerCoreTest, OversizedPayloadIsRefused) {
  BrokerLimits limits;
  limits.max_message_size = 4;
  make_core(limits);
  hello("p");
  auto out = send("p", Broadcast{5, "g", bytes("12345")});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::too_large);
  EXPECT_EQ(core->group("g"), nullptr);
}

TEST_F(BrokerCoreTest, GroupLimitIsEnforced) {
  BrokerLimits limits;
  limits.max_groups = 2;
  make_core(limits);
  hello("a");
  join("a", "g1");
  join("a", "g2");
  auto out = send("a", Join{"g3"});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::too_many_groups);
}

TEST_F(BrokerCoreTest, ByeForgetsTheClientAndAnswersGoodbye) {
  hello("c");
  join("c", "g");
  (void)send("c", Ready{"g", 5});
  auto out = send("c", Bye{});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Goodbye>(out[0].message));
  EXPECT_EQ(core->client_count(), 0u);
  EXPECT_TRUE(core->group("g")->members().empty());
  hello("p");
  EXPECT_TRUE(send("p", Produce{0, "g", 1, bytes("x")}).empty()) << "no credits left behind";
}

TEST_F(BrokerCoreTest, ItemForAGonePeerGoesBackToTheHeadOfTheQueue) {
  hello("p");
  hello("dead");
  hello("alive");
  join("dead", "g");
  join("alive", "g");
  (void)send("dead", Ready{"g", 1});
  auto out = send("p", Produce{1, "g", 1, bytes("first")});
  (void)send("p", Produce{2, "g", 1, bytes("second")});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].to, "dead");
  undeliverable(std::move(out[0]), /*peer_gone=*/true);
  EXPECT_EQ(core->client_count(), 2u);
  EXPECT_TRUE(core->take_outbox().empty());
  EXPECT_EQ(payloads_to(send("alive", Ready{"g", 1}), "alive", Kind::produced), std::vector<std::string>{"first"});
}

TEST_F(BrokerCoreTest, ItemRefusedByAFullPeerIsRetriedOnTheNextTick) {
  hello("p");
  hello("slow");
  join("slow", "g");
  (void)send("slow", Ready{"g", 2});
  auto out = send("p", Produce{1, "g", 1, bytes("x")});
  ASSERT_EQ(out.size(), 1u);
  undeliverable(std::move(out[0]), /*peer_gone=*/false);
  EXPECT_TRUE(core->take_outbox().empty()) << "suspended until the next tick";
  EXPECT_EQ(core->group("g")->queue_size(), 1u);
  core->tick();
  EXPECT_EQ(payloads_to(core->take_outbox(), "slow", Kind::produced), std::vector<std::string>{"x"});
}

TEST_F(BrokerCoreTest, BroadcastRefusedByAFullPeerIsResentAsTheLastValue) {
  hello("p");
  hello("slow");
  join("slow", "g");
  auto out = send("p", Broadcast{1, "g", bytes("v1")});
  undeliverable(std::move(out.at(0)), false);
  (void)send("p", Broadcast{2, "g", bytes("v2")});  // assume this one was lost as well
  core->tick();
  EXPECT_EQ(payloads_to(core->take_outbox(), "slow", Kind::broadcast), std::vector<std::string>{"v2"});
}

TEST_F(BrokerCoreTest, ItemsRefusedTogetherKeepTheirOrder) {
  hello("p");
  hello("c");
  join("c", "g");
  for (int i = 0; i < 4; ++i) (void)send("p", Produce{0, "g", 1, bytes(std::to_string(i))});
  auto out = send("c", Ready{"g", -1});
  ASSERT_EQ(out.size(), 4u);
  std::vector<Undelivered> failed;
  for (std::size_t i = 1; i < out.size(); ++i) failed.push_back(Undelivered{std::move(out[i]), false});
  core->undeliverable(std::move(failed));
  core->tick();
  EXPECT_EQ(payloads_to(core->take_outbox(), "c", Kind::produced), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(BrokerCoreTest, ItemsAFullPeerRefusedGoInOrderToTheNextCreditHolder) {
  hello("p");
  hello("full");
  hello("other");
  join("full", "g");
  join("other", "g");
  (void)send("full", Ready{"g", 3});
  std::vector<Outgoing> sent;
  for (int i = 1; i <= 3; ++i) {
    for (auto& o : send("p", Produce{0, "g", 1, bytes(std::to_string(i))})) sent.push_back(std::move(o));
  }
  ASSERT_EQ(sent.size(), 3u);
  std::vector<Undelivered> failed;
  for (auto& o : sent) failed.push_back(Undelivered{std::move(o), false});
  core->undeliverable(std::move(failed));
  EXPECT_TRUE(core->take_outbox().empty());
  EXPECT_EQ(payloads_to(send("other", Ready{"g", 3}), "other", Kind::produced),
            (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(BrokerCoreTest, RepliesBehindABacklogKeepTheirOrder) {
  hello("c");
  auto out = send("c", Ping{1});
  undeliverable(std::move(out.at(0)), false);
  EXPECT_TRUE(send("c", Ping{2}).empty()) << "waits behind the refused PONG";
  core->tick();
  out = core->take_outbox();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<Pong>(out[0].message).token, 1u);
  EXPECT_EQ(std::get<Pong>(out[1].message).token, 2u);
}

TEST_F(BrokerCoreTest, AClientThatNeverReadsIsForgottenWhenItsBacklogOverflows) {
  hello("deaf");
  undeliverable(std::move(send("deaf", Ping{0}).at(0)), false);
  for (int i = 0; i < 10001 && core->client_count() == 1; ++i) (void)send("deaf", Ping{1});
  EXPECT_EQ(core->client_count(), 0u);
}

TEST_F(BrokerCoreTest, ABroadcastThatOverflowsAMembersBacklogStillReachesTheOthers) {
  hello("p");
  for (const char* c : {"deaf", "b", "c"}) {
    hello(c);
    join(c, "g");
  }
  undeliverable(std::move(send("deaf", Ping{0}).at(0)), false);
  for (int i = 0; i < 9999; ++i) (void)send("deaf", Ping{1});  // backlog now exactly at the limit
  ASSERT_EQ(core->client_count(), 4u);
  auto out = send("p", Broadcast{1, "g", bytes("v")});  // overflows deaf's backlog mid-broadcast
  EXPECT_EQ(core->client_count(), 3u);
  EXPECT_EQ(payloads_to(out, "b", Kind::broadcast), std::vector<std::string>{"v"});
  EXPECT_EQ(payloads_to(out, "c", Kind::broadcast), std::vector<std::string>{"v"});
  for (const auto& o : out) EXPECT_FALSE(o.to.empty());
}

TEST_F(BrokerCoreTest, RepliesAFullPeerRefusedWaitInItsBacklog) {
  hello("c");
  auto out = send("c", Ping{1});
  auto more = send("c", Ping{2});
  std::vector<Undelivered> failed;
  failed.push_back(Undelivered{std::move(out.at(0)), false});
  failed.push_back(Undelivered{std::move(more.at(0)), false});
  core->undeliverable(std::move(failed));
  EXPECT_TRUE(core->take_outbox().empty());
  core->tick();
  out = core->take_outbox();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<Pong>(out[0].message).token, 1u);
  EXPECT_EQ(std::get<Pong>(out[1].message).token, 2u);
}

TEST_F(BrokerCoreTest, ByeAnswersGoodbyeOnlyAfterTheRepliesStillWaiting) {
  hello("c");
  auto pong = send("c", Ping{1});
  undeliverable(std::move(pong.at(0)), /*peer_gone=*/false);  // a full peer refused it
  EXPECT_TRUE(send("c", Bye{}).empty()) << "GOODBYE waits behind the PONG";
  EXPECT_EQ(core->client_count(), 0u) << "the client is forgotten at once";
  core->tick();
  auto out = core->take_outbox();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<Pong>(out[0].message).token, 1u);
  EXPECT_EQ(std::get<Goodbye>(out[1].message).reason, GoodbyeReason::bye);
  // Refused again: kept, in order, until the peer takes it or is gone.
  std::vector<Undelivered> failed;
  for (auto& o : out) failed.push_back(Undelivered{std::move(o), false});
  core->undeliverable(std::move(failed));
  core->tick();
  EXPECT_EQ(core->take_outbox().size(), 2u);
}

TEST_F(BrokerCoreTest, DeliveryIdsGrow) {
  hello("p");
  hello("c");
  join("c", "g");
  auto first = send("p", Broadcast{0, "g", bytes("1")});
  auto second = send("p", Broadcast{0, "g", bytes("2")});
  EXPECT_LT(std::get<Deliver>(first.at(0).message).delivery_id, std::get<Deliver>(second.at(0).message).delivery_id);
}

TEST_F(BrokerCoreTest, LeaveDropsMembershipAndCredits) {
  hello("c");
  join("c", "g");
  (void)send("c", Ready{"g", 3});
  auto out = send("c", Leave{"g"});
  EXPECT_TRUE(std::holds_alternative<Left>(out.at(0).message));
  EXPECT_EQ(core->group("g")->credits("c"), 0);
  out = send("c", Leave{"g"});
  EXPECT_EQ(error_in(out)->code, ErrorCode::not_member);
}


// The name a client says in HELLO is in the log lines about it, cut and without control bytes
// (it is the client's choice: a newline in it must not forge a log line).
TEST_F(BrokerCoreTest, TheHelloNameIsLoggedPrintably) {
  (void)send("c", protocol::Hello{"worker\n[info] forged" + std::string(100, 'x')});
  const auto log = core->take_log();
  ASSERT_FALSE(log.empty());
  const std::string& line = log.back().text;
  EXPECT_NE(line.find("HELLO name 'worker?[info] forged"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_NE(line.find("xxx...'"), std::string::npos) << "cut at 64 bytes: " << line;
}

}  // namespace
}  // namespace zrelay::broker
