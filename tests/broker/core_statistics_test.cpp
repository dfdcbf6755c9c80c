// BrokerCore::statistics(): what the broker holds, and every refusal, drop and redelivery.
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

class CoreStatistics : public BrokerCoreTest {};

TEST_F(CoreStatistics, CountsWhatIsHeldRefusedDroppedAndDeliveredAgain) {
  BrokerLimits limits;
  limits.accepted_groups = {GroupOptions{"refusing", 0, 1, Overflow::refuse},
                            GroupOptions{"dropping", 0, 1, Overflow::drop_oldest}};
  make_core(limits);
  hello("p");
  hello("c");
  join("c", "refusing");
  (void)send("p", Produce{1, "refusing", 2, bytes("x")});  // one queued, one refused
  (void)send("p", Produce{2, "dropping", 3, bytes("y")});  // two dropped
  (void)send("p", Broadcast{3, "refusing", bytes("v")});
  (void)send("c", Ready{"refusing", 1});                   // held by c
  core->reject("p", Error(ErrorCode::malformed_message, "bad"));
  (void)send("c", Ack{{999}});

  auto stats = core->statistics();
  EXPECT_EQ(stats.clients, 2u);
  EXPECT_EQ(stats.malformed_messages, 1u);
  EXPECT_EQ(stats.late_acks, 1u);
  EXPECT_EQ(stats.payload_bytes, 3u) << "x held by c, y queued, v the last value";
  ASSERT_EQ(stats.groups.size(), 2u);
  const auto refusing = stats_of("refusing");
  EXPECT_EQ(refusing.members, 1u);
  EXPECT_EQ(refusing.produced, 1u);
  EXPECT_EQ(refusing.refused, 1u);
  EXPECT_EQ(refusing.delivered, 1u);
  EXPECT_EQ(refusing.unacked, 1u);
  EXPECT_EQ(refusing.queued, 0u);
  EXPECT_EQ(refusing.broadcasts, 1u);
  const auto dropping = stats_of("dropping");
  EXPECT_EQ(dropping.produced, 3u);
  EXPECT_EQ(dropping.dropped, 2u);
  EXPECT_EQ(dropping.queued, 1u);

  (void)send("c", Bye{});
  stats = core->statistics();
  EXPECT_EQ(stats.clients, 1u);
  EXPECT_EQ(stats_of("refusing").redelivered, 1u);
  EXPECT_EQ(stats_of("refusing").queued, 1u);
  EXPECT_EQ(stats_of("refusing").unacked, 0u);
}

TEST_F(CoreStatistics, PayloadBytesCountEachBufferOnce) {
  hello("p");
  auto out = send("p", Produce{1, "q", 5, bytes(std::string(1000, 'x'))});
  (void)send("p", Broadcast{2, "w", bytes(std::string(100, 'y'))});
  EXPECT_EQ(core->statistics().payload_bytes, 1100u);
}

TEST_F(CoreStatistics, AClientThatOverflowsIsCounted) {
  hello("deaf");
  undeliverable(std::move(send("deaf", Ping{0}).at(0)), false);
  for (int i = 0; i < 10001 && core->client_count() == 1; ++i) (void)send("deaf", Ping{1});
  EXPECT_EQ(core->statistics().overflowed_clients, 1u);
}

}  // namespace
}  // namespace zrelay::broker
