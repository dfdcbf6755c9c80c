#pragma once
// Fault tests: an in-process broker that forgets silent clients within a second, endpoints in
// this process, and consumers in their own processes (tests/peer) that can be killed or frozen.
// Every test checks the ledger: produced = acknowledged + queued + unacknowledged + refused (+ dropped).
#include <chrono>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <zrelay/broker.hpp>
#include <zrelay/broker_stats.hpp>
#include <zrelay/endpoint.hpp>

#include "tests/support/peer.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay::testing {

class FaultFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    client_key.save(dir / "client");
    BrokerOptions options;
    options.bind = "tcp://127.0.0.1:*";
    options.certificate = broker_key;
    options.authorized_keys = {client_key};
    options.limits.heartbeat = std::chrono::milliseconds(200);
    options.limits.liveness = liveness();
    broker = std::make_unique<Broker>(std::move(options));
  }

  // The broker's liveness window: how long a silent client keeps its session.
  [[nodiscard]] virtual std::chrono::milliseconds liveness() const { return std::chrono::milliseconds(1000); }

  [[nodiscard]] EndpointOptions options_for(std::vector<std::string> groups) const {
    EndpointOptions options;
    options.broker = broker->endpoint();
    options.broker_public_key = broker->public_key();
    options.certificate = client_key;
    options.groups = std::move(groups);
    options.reconnect.initial_delay = std::chrono::milliseconds(20);
    return options;
  }

  [[nodiscard]] std::unique_ptr<Process> consumer(const std::string& group, int credits, int ack_after_ms) const {
    auto peer = start_consumer(broker->endpoint(), broker->public_key(), dir / "client", group, credits, ack_after_ms);
    EXPECT_TRUE(peer->wait_for("ready", std::chrono::seconds(20)).has_value()) << peer->output();
    return peer;
  }

  [[nodiscard]] GroupStatistics group_stats(const std::string& name) const {
    for (const auto& group : broker->stats().groups) {
      if (group.name == name) return group;
    }
    return GroupStatistics{};
  }

  // Waits until the broker's numbers for `name` satisfy `done`.
  template <class Predicate>
  GroupStatistics wait_for_stats(const std::string& name, Predicate done,
                                 std::chrono::milliseconds deadline = std::chrono::seconds(20)) const {
    const auto until = std::chrono::steady_clock::now() + deadline;
    GroupStatistics stats = group_stats(name);
    while (!done(stats) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition, with a deadline
      stats = group_stats(name);
    }
    return stats;
  }

  static void expect_ledger(const GroupStatistics& s, std::uint64_t produced) {
    EXPECT_EQ(s.produced + s.refused, produced);
    EXPECT_EQ(s.produced, s.acked + s.queued + s.unacked + s.dropped)
        << "an accepted item is acknowledged, queued, held by a consumer, or dropped with its producer told";
  }

  TempDir dir;
  Certificate broker_key = Certificate::generate();
  Certificate client_key = Certificate::generate();
  std::unique_ptr<Broker> broker;
};

}  // namespace zrelay::testing
