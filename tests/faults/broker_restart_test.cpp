// The broker process is killed and started again on the same address with the same key:
// endpoints reconnect by themselves, say that the broker restarted, and carry on. What was
// sent while it was down arrives; what only the dead process held is reported as lost.
#include <csignal>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using testing::Process;

class BrokerRestart : public ::testing::Test {
 protected:
  void start(const std::string& bind) {
    broker = std::make_unique<Process>(
        std::vector<std::string>{ZRELAY_BROKER_PATH, "--bind", bind, "--heartbeat-ms", "200", "--liveness-ms", "1000"},
        std::vector<std::string>{"ZRELAY_STATE_DIR=" + (dir / "state").string()});
    key = broker->wait_for("broker public key: ", 20s).value_or("");
    address = broker->wait_for("listening on ", 20s).value_or("");
    ASSERT_FALSE(address.empty()) << broker->output();
  }

  [[nodiscard]] EndpointOptions options_for(std::vector<std::string> groups) const {
    EndpointOptions o;
    o.broker = address;
    o.broker_public_key = key;
    o.certificate_file = dir / "state" / "client";
    o.groups = std::move(groups);
    o.reconnect.initial_delay = 20ms;
    o.reconnect.max_delay = 500ms;
    return o;
  }

  static std::vector<std::string> texts(Endpoint& endpoint, std::size_t count) {
    std::vector<std::string> got;
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (got.size() < count && std::chrono::steady_clock::now() < until) {
      for (auto& m : endpoint.pop(count - got.size(), 100ms)) got.emplace_back(m.text());
    }
    return got;
  }

  // Waits for a `connected` event of a new session and returns it.
  static std::optional<ConnectionEvent> reconnected(Endpoint& endpoint) {
    const auto until = std::chrono::steady_clock::now() + 20s;
    bool lost = false;
    while (std::chrono::steady_clock::now() < until) {
      for (auto& event : endpoint.take_connection_events()) {
        if (event.state == ConnectionState::reconnecting) lost = true;
        if (lost && event.state == ConnectionState::connected) return event;
      }
      (void)endpoint.wait_for_connection_state(ConnectionState::connected, 100ms);
    }
    return std::nullopt;
  }

  testing::TempDir dir;
  std::unique_ptr<Process> broker;
  std::string key;
  std::string address;
};

TEST_F(BrokerRestart, EndpointsReconnectReportTheRestartAndResume) {
  start("tcp://127.0.0.1:*");
  Endpoint producer(options_for({}));
  Endpoint consumer(options_for({"work", "weights"}));

  for (int i = 0; i < 10; ++i) (void)producer.produce_raw("before-" + std::to_string(i), "work");
  (void)producer.broadcast_raw("weights-v1", "weights");
  consumer.notify("work", 10);
  EXPECT_EQ(texts(consumer, 11).size(), 11u);  // 10 items and the broadcast, all acknowledged
  for (int i = 0; i < 3; ++i) (void)producer.produce_raw("queued-" + std::to_string(i), "work");
  producer.sync();  // the broker holds them in its queue: they die with it

  broker->signal(SIGKILL);
  ASSERT_TRUE(broker->wait(10s).has_value());
  // Sent while there is no broker: kept by the endpoint and sent to the next one.
  for (int i = 0; i < 4; ++i) (void)producer.produce_raw("during-" + std::to_string(i), "work");
  start(address);

  const auto producer_event = reconnected(producer);
  const auto consumer_event = reconnected(consumer);
  ASSERT_TRUE(producer_event && consumer_event);
  EXPECT_TRUE(producer_event->broker_restarted);
  EXPECT_TRUE(consumer_event->broker_restarted);
  EXPECT_NE(consumer_event->detail.find("lost"), std::string::npos) << consumer_event->detail;

  producer.sync();
  consumer.notify("work", 100);
  consumer.sync();  // the broker hands out the waiting items before it handles the broadcast below
  (void)producer.broadcast_raw("weights-v2", "weights");
  for (int i = 0; i < 2; ++i) (void)producer.produce_raw("after-" + std::to_string(i), "work");
  const auto got = texts(consumer, 7);
  EXPECT_EQ(got, (std::vector<std::string>{"during-0", "during-1", "during-2", "during-3", "weights-v2", "after-0",
                                           "after-1"}));
  EXPECT_TRUE(consumer.pop(1, 300ms).empty()) << "the 3 items queued in the killed broker are gone, not duplicated";
  EXPECT_GE(producer.statistics().sessions, 2u);
  producer.stop();
  consumer.stop();
  broker->signal(SIGTERM);
  EXPECT_EQ(broker->wait(10s), std::optional<int>(0));
}

TEST_F(BrokerRestart, AStoppingBrokerTellsItsEndpointsAndExitsPromptly) {
  start("tcp://127.0.0.1:*");
  Endpoint consumer(options_for({"work"}));
  broker->signal(SIGTERM);
  EXPECT_EQ(broker->wait(10s), std::optional<int>(0)) << "bounded by the linger time (1 s)";
  ASSERT_TRUE(consumer.wait_for_connection_state(ConnectionState::reconnecting, 10s));
  bool told = false;
  for (const auto& event : consumer.take_connection_events()) {
    told = told || event.detail.find("shutting down") != std::string::npos;
  }
  EXPECT_TRUE(told) << "the endpoint learns the broker stopped, not just that the connection broke";
}

}  // namespace
}  // namespace zrelay
