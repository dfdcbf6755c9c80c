// A consumer that dies or freezes while holding produced items: the items go to another
// consumer, none is lost, none is counted twice.
#include <csignal>
#include <map>
#include <thread>

#include "tests/faults/fault_fixture.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using testing::FaultFixture;
using testing::PeerItem;

class ConsumerFaults : public FaultFixture {
 protected:
  // Reads `count` items from a peer.
  static std::vector<PeerItem> items_from(testing::Process& peer, std::size_t count) {
    std::vector<PeerItem> items;
    while (items.size() < count) {
      auto item = testing::next_item(peer, 20s);
      if (!item) break;
      items.push_back(*item);
    }
    return items;
  }

  // Pops until `count` produced items arrived at `endpoint`.
  static std::vector<Message> take(Endpoint& endpoint, std::size_t count) {
    std::vector<Message> got;
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (got.size() < count && std::chrono::steady_clock::now() < until) {
      for (auto& m : endpoint.pop(count - got.size(), 100ms)) got.push_back(std::move(m));
    }
    return got;
  }

  // One trial: a consumer process takes `held` of `total` items and dies without acknowledging.
  void killed_consumer_trial(const std::string& group, std::size_t total, std::size_t held) {
    auto doomed = consumer(group, static_cast<int>(held), -1);
    Endpoint producer(options_for({}));
    for (std::size_t i = 0; i < total; ++i) (void)producer.produce_raw(group + "-" + std::to_string(i), group);
    const auto lost_with_it = items_from(*doomed, held);
    ASSERT_EQ(lost_with_it.size(), held) << doomed->output();
    doomed->signal(SIGKILL);
    (void)doomed->wait(10s);

    Endpoint survivor(options_for({group}));
    survivor.notify(group, static_cast<int>(total));
    const auto got = take(survivor, total);
    ASSERT_EQ(got.size(), total);
    std::map<std::string, const Message*> by_text;
    for (const Message& m : got) by_text[std::string(m.text())] = &m;
    EXPECT_EQ(by_text.size(), total) << "each item exactly once";
    for (const PeerItem& item : lost_with_it) {
      ASSERT_EQ(by_text.count(item.text), 1u) << item.text;
      EXPECT_EQ(by_text[item.text]->delivery_id(), item.delivery_id) << "a redelivered item keeps its id";
      EXPECT_EQ(by_text[item.text]->attempt(), 2u);
    }
    survivor.sync();
    const auto stats = wait_for_stats(group, [&](const GroupStatistics& s) { return s.acked == total; });
    expect_ledger(stats, total);
    EXPECT_EQ(stats.acked, total);
    EXPECT_EQ(stats.redelivered, held);
  }
};

TEST_F(ConsumerFaults, KilledConsumersItemsGoToAnotherConsumerOverManyTrials) {
  for (int trial = 0; trial < 5; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    killed_consumer_trial("killed-" + std::to_string(trial), 20, 5);
    if (HasFatalFailure()) return;
  }
}

// With a liveness window longer than the test's deadlines, only the closed connection itself can
// tell the broker that the killed consumer is gone (before, its items waited for the window).
class ClosedConnection : public ConsumerFaults {
 protected:
  [[nodiscard]] std::chrono::milliseconds liveness() const override { return std::chrono::minutes(2); }
};

TEST_F(ClosedConnection, AKilledConsumersItemsComeBackWithoutWaitingForTheLivenessWindow) {
  killed_consumer_trial("closed", 20, 5);
  const auto stats = broker->stats();
  EXPECT_EQ(stats.disconnected_clients, 1u);
  EXPECT_EQ(stats.expired_clients, 0u);
}

TEST_F(ConsumerFaults, KilledConsumerSoak) {  // label soak: not run by CI by default
  if (std::getenv("ZRELAY_SOAK") == nullptr) GTEST_SKIP() << "set ZRELAY_SOAK=1 to run it (ZRELAY_SOAK=1 ctest -R Soak)";
  for (int trial = 0; trial < 50; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    killed_consumer_trial("soak-" + std::to_string(trial), 200, 1 + trial % 50);
    if (HasFatalFailure()) return;
  }
}

TEST_F(ConsumerFaults, FrozenConsumerIsDetectedAndItsLateAcksAreHarmless) {
  const std::string group = "frozen";
  auto frozen = consumer(group, 5, 2000);  // acknowledges two seconds after taking
  Endpoint producer(options_for({}));
  for (int i = 0; i < 5; ++i) (void)producer.produce_raw("item-" + std::to_string(i), group);
  const auto taken = items_from(*frozen, 5);
  ASSERT_EQ(taken.size(), 5u);
  frozen->signal(SIGSTOP);  // before its acks go out

  Endpoint survivor(options_for({group}));
  survivor.notify(group, 5);
  const auto got = take(survivor, 5);  // only once the broker gave up on the frozen one
  ASSERT_EQ(got.size(), 5u);
  for (const Message& m : got) EXPECT_EQ(m.attempt(), 2u);
  survivor.sync();

  frozen->signal(SIGCONT);
  // It finds its session gone, opens a new one, and sends its acks there: they match nothing.
  EXPECT_TRUE(frozen->wait_for("event connected", 20s).has_value()) << frozen->output();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(frozen->wait_for("acked ", 20s).has_value());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (broker->stats().late_acks < 5 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(broker->stats().late_acks, 5u);
  const auto stats = group_stats(group);
  expect_ledger(stats, 5);
  EXPECT_EQ(stats.acked, 5u) << "late acks of redelivered items are not counted again";
  EXPECT_EQ(stats.redelivered, 5u);
  EXPECT_GE(broker->stats().expired_clients, 1u);
  frozen->signal(SIGKILL);
}

}  // namespace
}  // namespace zrelay
