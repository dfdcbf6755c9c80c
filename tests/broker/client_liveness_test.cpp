// The broker forgets clients it has not heard from for the liveness window, with fake time.
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

using std::chrono::milliseconds;

class ClientLiveness : public BrokerCoreTest {
 protected:
  void SetUp() override {
    BrokerLimits limits;
    limits.heartbeat = milliseconds(100);
    limits.liveness = milliseconds(300);
    make_core(limits);
  }
};

TEST_F(ClientLiveness, WelcomeAnnouncesHeartbeatLivenessAndInstance) {
  core = std::make_unique<BrokerCore>(BrokerLimits{}, "v", 77);
  const auto out = send("a", Hello{"a"});
  const auto& welcome = std::get<Welcome>(out.at(0).message);
  EXPECT_EQ(welcome.instance, 77u);
  EXPECT_EQ(welcome.heartbeat_ms, 1000u);
  EXPECT_EQ(welcome.liveness_ms, 3000u);
}

TEST_F(ClientLiveness, ASilentClientIsForgottenAndItsItemsGoToOthers) {
  hello("p");
  hello("silent");
  hello("alive");
  join("silent", "g");
  join("alive", "g");
  (void)send("silent", Ready{"g", 1});
  const auto out = send("p", Produce{1, "g", 1, bytes("x")});
  ASSERT_EQ(produced_to(out, "silent").size(), 1u);
  (void)send_at(milliseconds(250), "alive", Ready{"g", 1});
  (void)send_at(milliseconds(250), "p", Ping{1});

  EXPECT_TRUE(produced_to(tick_at(milliseconds(300)), "alive").empty()) << "not silent for longer than liveness yet";
  const auto expiry = tick_at(milliseconds(301));
  ASSERT_NE(goodbye_to(expiry, "silent"), nullptr);
  EXPECT_EQ(goodbye_to(expiry, "silent")->reason, GoodbyeReason::expired);
  const auto again = produced_to(expiry, "alive");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]->attempt, 2u);
  EXPECT_EQ(core->client_count(), 2u);
  EXPECT_EQ(core->statistics().expired_clients, 1u);
  EXPECT_EQ(std::get<ErrorReply>(send("silent", Ping{2}).at(0).message).code, ErrorCode::hello_expected)
      << "a forgotten client must say HELLO again";
}

TEST_F(ClientLiveness, AnyMessageKeepsAClientAlive) {
  hello("a");
  for (int i = 1; i <= 10; ++i) {
    (void)send_at(milliseconds(200 * i), "a", Ping{static_cast<std::uint64_t>(i)});
    (void)tick_at(milliseconds(200 * i + 100));
  }
  EXPECT_EQ(core->client_count(), 1u);
  EXPECT_EQ(core->statistics().expired_clients, 0u);
}

TEST_F(ClientLiveness, ShutdownSaysGoodbyeToEveryClient) {
  hello("a");
  hello("b");
  core->shutdown();
  const auto out = core->take_outbox();
  ASSERT_NE(goodbye_to(out, "a"), nullptr);
  ASSERT_NE(goodbye_to(out, "b"), nullptr);
  EXPECT_EQ(goodbye_to(out, "a")->reason, GoodbyeReason::shutting_down);
  EXPECT_EQ(core->client_count(), 0u);
}

TEST_F(ClientLiveness, ShutdownSendsWhatWaitsFirstAndHandsNothingOut) {
  hello("p");
  hello("a");
  hello("b");
  join("a", "g");
  join("b", "g");
  (void)send("a", Ready{"g", 1});
  (void)send("p", Produce{1, "g", 1, bytes("x")});  // held by a
  (void)send("b", Ready{"g", 1});
  undeliverable(std::move(send("b", Ping{4}).at(0)), false);
  core->shutdown();
  const auto out = core->take_outbox();
  EXPECT_TRUE(produced_to(out, "b").empty()) << "a's item is not handed to b, who is told goodbye as well";
  std::vector<std::string> to_b;
  for (const auto& o : out) {
    if (o.to == "b") to_b.push_back(std::holds_alternative<Pong>(o.message) ? "pong" : "other");
  }
  ASSERT_EQ(to_b.size(), 2u);
  EXPECT_EQ(to_b[0], "pong");
  EXPECT_EQ(goodbye_to(out, "b")->reason, GoodbyeReason::shutting_down);
  EXPECT_EQ(core->statistics().groups.at(0).members, 0u);
}

}  // namespace
}  // namespace zrelay::broker
