// Payload bytes are counted wherever they are held, and bounded: globally, and per client.
#include "broker/payload_account.hpp"
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

TEST(PayloadAccount, CountsABufferOnceUntilItsLastCopyIsReleased) {
  PayloadAccount account;
  std::optional<zmq::message_t> tracked = account.track(zmq::message_t(std::string(1000, 'x')));
  EXPECT_EQ(account.bytes(), 1000u);
  zmq::message_t copy;
  copy.copy(*tracked);
  EXPECT_EQ(account.bytes(), 1000u) << "copies share the buffer";
  tracked.reset();
  EXPECT_EQ(account.bytes(), 1000u);
  EXPECT_EQ(copy.to_string(), std::string(1000, 'x'));
  copy = zmq::message_t();
  EXPECT_EQ(account.bytes(), 0u);
}

TEST(PayloadAccount, AMessageMayOutliveItsAccount) {
  std::optional<zmq::message_t> survivor;
  {
    PayloadAccount account;
    survivor = account.track(zmq::message_t(std::string(10, 'x')));
  }
  EXPECT_EQ(survivor->to_string(), std::string(10, 'x'));
  survivor.reset();  // must not touch freed memory (ASan checks this)
}

constexpr std::uint64_t item_cost = BrokerCore::item_cost;

class PayloadBudget : public BrokerCoreTest {
 protected:
  // Room for 1000 payload bytes and the overhead of four items, eight memberships and four
  // waiting replies.
  static constexpr std::uint64_t budget =
      1000 + 4 * item_cost + 8 * BrokerCore::membership_cost + 4 * Backlog::entry_cost;

  void SetUp() override {
    BrokerLimits limits;
    limits.max_payload_bytes = budget;
    limits.max_client_pending_bytes = 250;
    make_core(limits);
    hello("p");
  }
};

TEST_F(PayloadBudget, OverTheBudgetIsRefusedWithOverBudgetAndCounted) {
  EXPECT_EQ(error_in(send("p", Produce{1, "q", 1, bytes(std::string(600, 'a'))})), nullptr);
  const auto out = send("p", Produce{2, "q", 30, bytes(std::string(600, 'b'))});  // 30 items' overhead
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::over_budget);
  EXPECT_EQ(error_in(out)->seq, 2u);
  const std::size_t room = budget - 600 - item_cost;
  EXPECT_EQ(error_in(send("p", Broadcast{3, "w", bytes(std::string(room + 1, 'c'))}))->code, ErrorCode::over_budget);
  EXPECT_EQ(error_in(send("p", Broadcast{4, "w", bytes(std::string(room, 'd'))})), nullptr) << "still fits";
  const auto stats = core->statistics();
  EXPECT_EQ(stats.payload_bytes, 600u + room);
  EXPECT_EQ(stats.overhead_bytes, item_cost) << "one queued item";
  EXPECT_EQ(stats.refused_over_budget, 2u);
  EXPECT_EQ(stats_of("q").refused, 30u) << "all the copies";
}

// 65535 copies of one byte are 65535 items: each is charged what it costs besides its payload.
TEST_F(PayloadBudget, ManyCopiesOfATinyPayloadAreChargedPerItem) {
  BrokerLimits limits;
  limits.max_payload_bytes = 4 * item_cost + 10;
  make_core(limits);
  hello("p");
  const auto out = send("p", Produce{1, "q", 65535, bytes("x")});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::over_budget);
  EXPECT_EQ(core->group("q")->queue_size(), 0u);
  EXPECT_EQ(error_in(send("p", Produce{2, "q", 4, bytes("x")})), nullptr) << "four items fit";
  EXPECT_EQ(core->statistics().overhead_bytes, 4 * item_cost);
  const auto again = send("p", Produce{3, "q", 1, bytes("x")});  // a fifth item does not fit
  ASSERT_NE(error_in(again), nullptr);
  EXPECT_EQ(error_in(again)->code, ErrorCode::over_budget);
}

TEST_F(PayloadBudget, ADeliveredSmallPayloadChargesItsCopyUntilWritten) {
  hello("c");
  join("c", "w");
  auto out = send("p", Broadcast{1, "w", bytes(std::string(100, 'b'))});
  ASSERT_EQ(payloads_to(out, "c", Kind::broadcast).size(), 1u);
  EXPECT_EQ(core->statistics().payload_bytes, 100u);
  constexpr std::uint64_t membership = BrokerCore::membership_cost;
  EXPECT_EQ(core->statistics().overhead_bytes, membership + 100u) << "the copy in the header frame on its way";
  out.clear();  // written
  EXPECT_EQ(core->statistics().overhead_bytes, membership);
}

TEST_F(PayloadBudget, BytesAreFreedWhenTheDeliveriesAreReleased) {
  (void)send("p", Produce{1, "q", 1, bytes(std::string(600, 'a'))});
  hello("c");
  join("c", "q");
  auto out = send("c", Ready{"q", 1});
  ASSERT_EQ(produced_to(out, "c").size(), 1u);
  const auto& delivery = *produced_to(out, "c")[0];
  (void)send("c", Ack{{delivery.delivery_id}});
  EXPECT_EQ(core->account().bytes(), 600u) << "the delivery on its way still holds it";
  out.clear();  // as libzmq does once the message is written
  EXPECT_EQ(core->account().bytes(), 0u);
}

TEST_F(PayloadBudget, AClientBehindOnItsConnectionGetsNoMoreItemsAndOnlyTheNewestBroadcast) {
  hello("slow");
  hello("fast");
  join("slow", "w");
  join("slow", "q");
  join("fast", "q");
  auto kept = send("p", Broadcast{1, "w", bytes(std::string(300, '1'))});  // not yet written: 300 pending
  ASSERT_EQ(payloads_to(kept, "slow", Kind::broadcast).size(), 1u);
  EXPECT_TRUE(payloads_to(send("p", Broadcast{2, "w", bytes(std::string(100, '2'))}), "slow", Kind::broadcast).empty());
  EXPECT_TRUE(payloads_to(send("p", Broadcast{3, "w", bytes(std::string(100, '3'))}), "slow", Kind::broadcast).empty());
  EXPECT_EQ(stats_of("w").broadcasts_skipped, 1u) << "counted once per stale period";

  (void)send("slow", Ready{"q", 1});
  (void)send("fast", Ready{"q", 1});
  EXPECT_EQ(produced_to(send("p", Produce{4, "q", 1, bytes("item")}), "fast").size(), 1u)
      << "the item goes to a consumer whose connection keeps up";

  kept.clear();  // the slow connection caught up
  const auto out = tick_at(std::chrono::milliseconds(100));
  EXPECT_EQ(payloads_to(out, "slow", Kind::broadcast), std::vector<std::string>{std::string(100, '3')});
}

TEST_F(PayloadBudget, AllItemsAskedForWithNegativeReadyStopAtThePendingLimit) {
  hello("c");
  join("c", "q");
  for (std::uint64_t i = 1; i <= 4; ++i) (void)send("p", Produce{i, "q", 1, bytes(std::string(100, 'a'))});
  auto out = send("c", Ready{"q", -1});
  EXPECT_EQ(produced_to(out, "c").size(), 3u) << "300 bytes pending reach the 250 limit";
  EXPECT_EQ(core->group("q")->credits("c"), 1) << "the rest is owed as credits";
  EXPECT_TRUE(produced_to(tick_at(std::chrono::milliseconds(100)), "c").empty()) << "still behind";
  out.clear();
  EXPECT_EQ(produced_to(tick_at(std::chrono::milliseconds(200)), "c").size(), 1u);
}

TEST_F(PayloadBudget, ASingleLargePayloadStillGoesToAnIdleConnection) {
  hello("c");
  join("c", "w");
  const auto out = send("p", Broadcast{1, "w", bytes(std::string(600, 'x'))});
  EXPECT_EQ(payloads_to(out, "c", Kind::broadcast).size(), 1u) << "600 bytes over the 250 limit, but nothing pending";
}

TEST_F(PayloadBudget, TheCountReturnsToZeroOnceEverythingIsReleased) {
  hello("c");
  join("c", "w");
  join("c", "q");
  (void)send("c", Ready{"q", 1});
  auto out = send("p", Produce{1, "q", 2, bytes(std::string(300, 'a'))});
  const std::uint64_t id = produced_to(out, "c").at(0)->delivery_id;
  auto more = send("p", Broadcast{2, "w", bytes(std::string(200, 'b'))});
  EXPECT_EQ(core->account().bytes(), 500u) << "copies share one buffer";
  (void)send("c", Ack{{id}});
  out.clear();
  more.clear();
  EXPECT_EQ(core->account().bytes(), 500u) << "the second copy is queued, the broadcast is the last value";
  const PayloadAccount account = core->account();  // shares the counter
  core.reset();
  EXPECT_EQ(account.bytes(), 0u);
}

}  // namespace
}  // namespace zrelay::broker
