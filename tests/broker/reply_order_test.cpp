// What waits for a full peer keeps its place: a refused broadcast waits as its group's last
// value, in order, and nothing sent later overtakes it.
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

class ReplyOrder : public BrokerCoreTest {
 protected:
  void SetUp() override {
    BrokerCoreTest::SetUp();
    hello("p");
    hello("m");
    join("m", "g");
  }

  // The kinds of messages to "m", in order: "v:<payload>" for a broadcast, "pong:<token>".
  static std::vector<std::string> to_m(const std::vector<Outgoing>& out) {
    std::vector<std::string> seen;
    for (const auto& o : out) {
      if (o.to != "m") continue;
      if (const auto* d = std::get_if<Deliver>(&o.message)) seen.push_back("v:" + d->payload.to_string());
      if (const auto* p = std::get_if<Pong>(&o.message)) seen.push_back("pong:" + std::to_string(p->token));
    }
    return seen;
  }
};

TEST_F(ReplyOrder, ALaterPongDoesNotOvertakeARefusedBroadcast) {
  auto out = send("p", Broadcast{1, "g", bytes("v1")});
  undeliverable(std::move(out.at(0)), /*peer_gone=*/false);
  EXPECT_TRUE(send("m", Ping{7}).empty()) << "the PONG waits behind the refused broadcast";
  EXPECT_EQ(to_m(tick_at(std::chrono::milliseconds(100))), (std::vector<std::string>{"v:v1", "pong:7"}));
}

TEST_F(ReplyOrder, TheWaitingBroadcastIsTheNewestValueInTheOldPlace) {
  auto out = send("p", Broadcast{1, "g", bytes("v1")});
  undeliverable(std::move(out.at(0)), false);
  EXPECT_TRUE(send("m", Ping{7}).empty());
  EXPECT_TRUE(send("p", Broadcast{2, "g", bytes("v2")}).empty());
  EXPECT_TRUE(send("p", Broadcast{3, "g", bytes("v3")}).empty());
  EXPECT_EQ(to_m(tick_at(std::chrono::milliseconds(100))), (std::vector<std::string>{"v:v3", "pong:7"}))
      << "one value, the newest, where the first one was";
  EXPECT_EQ(stats_of("g").broadcasts_skipped, 2u) << "v1 and v2 never reached m";
}

TEST_F(ReplyOrder, RefusedAgainItKeepsItsPlace) {
  auto out = send("p", Broadcast{1, "g", bytes("v1")});
  undeliverable(std::move(out.at(0)), false);
  (void)send("m", Ping{7});
  out = tick_at(std::chrono::milliseconds(100));
  ASSERT_EQ(out.size(), 2u);
  std::vector<Undelivered> failed;
  for (auto& o : out) failed.push_back(Undelivered{std::move(o), false});
  core->undeliverable(std::move(failed));
  EXPECT_TRUE(send("m", Ping{8}).empty());
  EXPECT_EQ(to_m(tick_at(std::chrono::milliseconds(200))), (std::vector<std::string>{"v:v1", "pong:7", "pong:8"}));
}

TEST_F(ReplyOrder, AMemberThatLeftGetsNoWaitingValue) {
  auto out = send("p", Broadcast{1, "g", bytes("v1")});
  undeliverable(std::move(out.at(0)), false);
  out = send("m", Leave{"g"});
  EXPECT_TRUE(out.empty()) << "LEFT waits too";
  EXPECT_TRUE(to_m(tick_at(std::chrono::milliseconds(100))).empty());
}

}  // namespace
}  // namespace zrelay::broker
