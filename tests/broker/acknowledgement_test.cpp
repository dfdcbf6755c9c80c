// Produced items are held for their consumer until it acknowledges them; if it leaves first,
// they go back to the head of the queue with the same delivery id.
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

class Acknowledgement : public BrokerCoreTest {
 protected:
  void SetUp() override {
    BrokerCoreTest::SetUp();
    hello("p");
    hello("c1");
    hello("c2");
    join("c1", "g");
    join("c2", "g");
  }

  // Produces `texts` and returns what c1 (holding `credits`) got.
  std::vector<Deliver> to_c1(std::initializer_list<std::string> texts, int credits) {
    (void)send("c1", Ready{"g", credits});
    std::vector<Deliver> got;
    std::uint64_t seq = 0;
    for (const auto& text : texts) {
      for (auto& o : send("p", Produce{++seq, "g", 1, bytes(text)})) {
        if (auto* d = std::get_if<Deliver>(&o.message); d != nullptr && o.to == "c1") got.push_back(std::move(*d));
      }
    }
    return got;
  }
};

TEST_F(Acknowledgement, AnAckedItemIsForgotten) {
  const auto got = to_c1({"a"}, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].attempt, 1u);
  EXPECT_EQ(stats_of("g").unacked, 1u);
  (void)send("c1", Ack{{got[0].delivery_id}});
  EXPECT_EQ(stats_of("g").unacked, 0u);
  EXPECT_EQ(stats_of("g").acked, 1u);
  (void)send("c1", Bye{});
  (void)send("c2", Ready{"g", 1});
  EXPECT_TRUE(produced_to(core->take_outbox(), "c2").empty()) << "nothing comes back after an ack";
}

TEST_F(Acknowledgement, ItemsHeldAtByeGoToTheNextConsumerInOrderWithTheirIds) {
  const auto got = to_c1({"a", "b", "c"}, 3);
  ASSERT_EQ(got.size(), 3u);
  (void)send("c1", Ack{{got[1].delivery_id}});
  (void)send("p", Produce{9, "g", 1, bytes("newer")});
  const auto bye = send("c1", Bye{});
  ASSERT_NE(goodbye_to(bye, "c1"), nullptr);
  EXPECT_EQ(goodbye_to(bye, "c1")->reason, GoodbyeReason::bye);

  const auto out = send("c2", Ready{"g", 3});
  const auto again = produced_to(out, "c2");
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0]->payload.to_string(), "a");
  EXPECT_EQ(again[0]->delivery_id, got[0].delivery_id);
  EXPECT_EQ(again[0]->attempt, 2u);
  EXPECT_EQ(again[1]->payload.to_string(), "c");
  EXPECT_EQ(again[1]->delivery_id, got[2].delivery_id);
  EXPECT_EQ(again[2]->payload.to_string(), "newer");
  EXPECT_EQ(again[2]->attempt, 1u);
  EXPECT_EQ(stats_of("g").redelivered, 2u);
}

TEST_F(Acknowledgement, HeldItemsGoBackAtOnceWhenAnotherConsumerHasCredits) {
  (void)send("c2", Ready{"g", 5});
  (void)send("c1", Ready{"g", 1});
  // c2 asked first, so it gets the first item; c1 the second.
  const auto out = send("p", Produce{1, "g", 2, bytes("x")});
  const auto to_c1_now = produced_to(out, "c1");
  ASSERT_EQ(to_c1_now.size(), 1u);
  const std::uint64_t id = to_c1_now[0]->delivery_id;
  const auto leave = send("c1", Leave{"g"});
  const auto again = produced_to(leave, "c2");
  ASSERT_EQ(again.size(), 1u) << "LEAVE returns the items of that group";
  EXPECT_EQ(again[0]->delivery_id, id);
}

TEST_F(Acknowledgement, AnAckForAnItemNoLongerHeldIsCountedAndHarmless) {
  const auto got = to_c1({"a"}, 1);
  ASSERT_EQ(got.size(), 1u);
  (void)send("c1", Ack{{got[0].delivery_id, 123456}});
  (void)send("c2", Ack{{got[0].delivery_id}});
  EXPECT_EQ(core->statistics().late_acks, 2u);
  EXPECT_EQ(stats_of("g").acked, 1u);
  EXPECT_TRUE(core->take_outbox().empty()) << "no error for a late ack";
}

TEST_F(Acknowledgement, AGonePeersHeldItemsAreRequeuedOnce) {
  const auto got = to_c1({"a", "b"}, 2);
  ASSERT_EQ(got.size(), 2u);
  Outgoing failed{"c1", Deliver{"g", Kind::produced, got[1].delivery_id, 1, bytes("b")}, "p", 2};
  undeliverable(std::move(failed), /*peer_gone=*/true);
  EXPECT_EQ(core->group("g")->queue_size(), 2u) << "both held items, once each";
  EXPECT_EQ(goodbye_to(core->take_outbox(), "c1"), nullptr) << "no GOODBYE to a connection that is gone";
}

TEST_F(Acknowledgement, ItemsComeBackInTheOrderTheyWereDelivered) {
  hello("c3");
  join("c3", "g");
  const auto a = to_c1({"a"}, 1);  // id 1 to c1
  (void)send("c2", Ready{"g", 2});
  (void)send("p", Produce{2, "g", 1, bytes("b")});  // id 2 to c2
  (void)send("c1", Bye{});                          // a goes to c2 after b
  (void)send("c2", Bye{});
  const auto out = send("c3", Ready{"g", 2});
  const auto again = produced_to(out, "c3");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0]->payload.to_string(), "b") << "c2 got b first";
  EXPECT_EQ(again[1]->payload.to_string(), "a");
  EXPECT_EQ(again[1]->delivery_id, a.at(0).delivery_id);
  EXPECT_EQ(again[1]->attempt, 3u);
}

TEST_F(Acknowledgement, ASendToAGonePeerDoesNotCountAsAnAttempt) {
  auto got = to_c1({"a", "b"}, 2);
  ASSERT_EQ(got.size(), 2u);
  Outgoing failed{"c1", Deliver{"g", Kind::produced, got[1].delivery_id, 1, std::move(got[1].payload)}, "p", 2};
  undeliverable(std::move(failed), /*peer_gone=*/true);  // a left, b never did
  const auto out = send("c2", Ready{"g", 2});
  const auto again = produced_to(out, "c2");
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0]->payload.to_string(), "a");
  EXPECT_EQ(again[0]->attempt, 2u);
  EXPECT_EQ(again[1]->payload.to_string(), "b");
  EXPECT_EQ(again[1]->attempt, 1u);
  EXPECT_EQ(stats_of("g").redelivered, 1u);
}

TEST_F(Acknowledgement, ASendAFullPeerRefusedLeavesNothingHeld) {
  auto got = to_c1({"a"}, 1);
  ASSERT_EQ(got.size(), 1u);
  const std::uint64_t id = got[0].delivery_id;
  Outgoing failed{"c1", Deliver{"g", Kind::produced, id, 1, std::move(got[0].payload)}, "p", 1};
  undeliverable(std::move(failed), /*peer_gone=*/false);
  EXPECT_EQ(stats_of("g").unacked, 0u);
  EXPECT_EQ(stats_of("g").queued, 1u);
  (void)send("c1", Ack{{id}});
  EXPECT_EQ(core->statistics().late_acks, 1u) << "it was never delivered";
  const auto out = tick_at(std::chrono::milliseconds(100));
  const auto again = produced_to(out, "c1");
  ASSERT_EQ(again.size(), 1u) << "its credit came back";
  EXPECT_EQ(again[0]->delivery_id, id);
  EXPECT_EQ(again[0]->attempt, 1u);
}

TEST_F(Acknowledgement, AnExpiredConsumersLateAckIsHarmless) {
  const auto got = to_c1({"a"}, 1);
  ASSERT_EQ(got.size(), 1u);
  (void)send_at(std::chrono::seconds(3), "c2", Ready{"g", 1});
  (void)send_at(std::chrono::seconds(3), "p", Ping{1});
  const auto out = tick_at(std::chrono::seconds(4));
  const auto again = produced_to(out, "c2");
  ASSERT_EQ(again.size(), 1u) << "c1 expired: its item went to c2";
  const auto late = send("c1", Ack{{got[0].delivery_id}});
  EXPECT_EQ(std::get<ErrorReply>(late.at(0).message).code, ErrorCode::hello_expected) << "c1 learns it was forgotten";
  EXPECT_EQ(stats_of("g").unacked, 1u) << "c2 still holds it";
  (void)send("c2", Ack{{got[0].delivery_id}});
  EXPECT_EQ(stats_of("g").acked, 1u);
  EXPECT_EQ(stats_of("g").unacked, 0u);
}

TEST_F(Acknowledgement, LedgerHolds) {
  const auto got = to_c1({"a", "b", "c", "d"}, 2);
  (void)send("c1", Ack{{got[0].delivery_id}});
  const auto s = stats_of("g");
  EXPECT_EQ(s.produced, 4u);
  EXPECT_EQ(s.acked + s.queued + s.unacked, s.produced);
}

}  // namespace
}  // namespace zrelay::broker
