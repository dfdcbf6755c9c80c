// What one client may hold: unacknowledged items up to max_client_unacked, deliveries not yet
// written up to max_client_pending_messages. At either bound it gets no more items, and neither
// the socket nor the broker's timer does work for it in proportion to what it asked for.
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

class ClientBounds : public BrokerCoreTest {
 protected:
  void SetUp() override {
    BrokerLimits limits;
    limits.max_client_unacked = 3;
    limits.max_client_pending_messages = 5;
    make_core(limits);
    hello("p");
    hello("c");
    join("c", "q");
  }

  void produce(int count) {
    for (int i = 0; i < count; ++i) (void)send("p", Produce{static_cast<std::uint64_t>(i + 1), "q", 1, bytes("x")});
  }
};

TEST_F(ClientBounds, AClientAtItsUnackedBoundGetsNoMoreUntilItAcks) {
  produce(10);
  auto out = send("c", Ready{"q", 100});
  const auto first = produced_to(out, "c");
  ASSERT_EQ(first.size(), 3u);
  out.clear();  // written: only the unacked bound holds it back now
  EXPECT_TRUE(produced_to(tick_at(std::chrono::milliseconds(100)), "c").empty());
  EXPECT_EQ(core->group("q")->queue_size(), 7u);
  const auto after_ack = send("c", Ack{{first[0]->delivery_id, first[1]->delivery_id}});
  EXPECT_EQ(produced_to(after_ack, "c").size(), 2u) << "an ACK makes room at once, no tick needed";
}

TEST_F(ClientBounds, AllItemsAskedForStopAtTheUnackedBound) {
  produce(10);
  const auto out = send("c", Ready{"q", -1});
  EXPECT_EQ(produced_to(out, "c").size(), 3u);
  EXPECT_EQ(core->group("q")->queue_size(), 7u);
}

TEST_F(ClientBounds, UnwrittenDeliveriesStopAtThePendingMessageBound) {
  BrokerLimits limits;
  limits.max_client_pending_messages = 5;
  make_core(limits);
  hello("p");
  hello("c");
  join("c", "q");
  produce(50);
  auto out = send("c", Ready{"q", 1 << 20});
  EXPECT_EQ(produced_to(out, "c").size(), 5u) << "one-byte items: the byte bound alone never stops them";
  for (int tick = 1; tick <= 10; ++tick) {
    EXPECT_TRUE(tick_at(std::chrono::milliseconds(100 * tick)).empty()) << "no work while nothing was written";
  }
  out.erase(out.begin(), out.begin() + 2);  // two written
  EXPECT_EQ(produced_to(tick_at(std::chrono::milliseconds(1200)), "c").size(), 2u);
}

}  // namespace
}  // namespace zrelay::broker
