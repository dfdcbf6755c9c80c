// The endpoint's protocol with its timers, on a clock moved by hand: no sockets, no waiting.
#include "endpoint/link_core.hpp"

#include <gtest/gtest.h>

namespace zrelay::endpoint {
namespace {

using namespace protocol;
using namespace std::chrono_literals;
using Clock = LinkCore::Clock;

// Probes for a stopping endpoint with nothing on its way, unless a test says otherwise.
struct Probes {
  bool submitting = false;
  bool queue_empty = true;
  [[nodiscard]] DrainProbes get() const {
    return {[this] { return submitting; }, [this] { return queue_empty; }, [] { return true; }, [] { return true; }};
  }
};

class LinkCoreTest : public ::testing::Test {
 protected:
  LinkCoreTest() {
    options.groups = {"g"};
    options.reconnect.initial_delay = 100ms;
    options.reconnect.jitter = 0;
  }

  // Starts and opens the first session (WELCOME: heartbeat 500 ms, liveness 1500 ms).
  void open() {
    core = std::make_unique<LinkCore>(options, EndpointId{1}, 7);
    core->start(now);
    (void)core->take_actions();
    welcome();
    ASSERT_EQ(core->session().state(), SessionState::active);
  }
  void welcome() {
    broker(Welcome{1000, "v", 1, 500, 1500});
    broker(Joined{"g"});
  }
  void broker(BrokerMessage&& message) {
    Batch<BrokerMessage> batch;
    batch.messages.push_back(std::move(message));
    core->on_broker_message(now, std::move(batch));
  }
  std::vector<LinkAction> advance(std::chrono::milliseconds by) {
    now += by;
    core->tick(now);
    core->stop_when_drained(now, probes.get());
    return core->take_actions();
  }
  template <class T>
  static std::size_t count(const std::vector<LinkAction>& actions) {
    std::size_t n = 0;
    for (const auto& a : actions) {
      if constexpr (std::is_same_v<T, Connect> || std::is_same_v<T, Disconnect>) {
        n += std::holds_alternative<T>(a) ? 1 : 0;
      } else {
        const auto* m = std::get_if<ClientMessage>(&a);
        n += m != nullptr && std::holds_alternative<T>(*m) ? 1 : 0;
      }
    }
    return n;
  }

  EndpointOptions options;
  Clock::time_point now = Clock::time_point{} + 1h;
  Probes probes;
  std::unique_ptr<LinkCore> core;
};

TEST_F(LinkCoreTest, StartConnectsAndSaysHelloThenJoins) {
  core = std::make_unique<LinkCore>(options, EndpointId{9}, 1);
  core->start(now);
  const auto actions = core->take_actions();
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Connect>(actions[0]));
  EXPECT_EQ(std::get<Hello>(std::get<ClientMessage>(actions[1])).endpoint_id, EndpointId{9});
  EXPECT_EQ(std::get<Join>(std::get<ClientMessage>(actions[2])).group, "g");
}

TEST_F(LinkCoreTest, AnActiveSessionPingsEveryHeartbeat) {
  open();
  EXPECT_EQ(count<Ping>(advance(499ms)), 0u);
  EXPECT_EQ(count<Ping>(advance(1ms)), 1u);
  broker(Pong{1});
  EXPECT_EQ(count<Ping>(advance(500ms)), 1u);
}

// Silence for the liveness window loses the session; the backoff's delay later a new connection
// opens a new session, whose deadline is the attempt window.
TEST_F(LinkCoreTest, ASilentBrokerLosesTheSessionAndANewOneIsTriedAfterTheBackoff) {
  open();
  (void)advance(1000ms);
  broker(Pong{1});  // heard at +1000 ms
  auto actions = advance(1499ms);
  EXPECT_EQ(count<Disconnect>(actions), 0u);
  actions = advance(1ms);
  EXPECT_EQ(count<Disconnect>(actions), 1u);
  EXPECT_EQ(core->session().state(), SessionState::reconnecting);
  EXPECT_EQ(count<Connect>(advance(99ms)), 0u);
  actions = advance(1ms);
  EXPECT_EQ(count<Connect>(actions), 1u);
  EXPECT_EQ(count<Hello>(actions), 1u);
  EXPECT_EQ(count<Disconnect>(advance(LinkCore::min_attempt_window - 1ms)), 0u);
  EXPECT_EQ(count<Disconnect>(advance(1ms)), 1u) << "no new session within the attempt window";
}

// libzmq may report the dropped connection before the broker's last messages are readable: they
// are still read for a grace period, so a GOODBYE(shutting_down) is what the session hears.
TEST_F(LinkCoreTest, ADroppedConnectionIsALossOnlyAfterTheGrace) {
  open();
  core->on_disconnected(now);
  EXPECT_FALSE(core->may_send());
  EXPECT_EQ(count<Disconnect>(advance(LinkCore::disconnect_grace - 1ms)), 0u);
  EXPECT_EQ(count<Disconnect>(advance(1ms)), 1u);
  EXPECT_EQ(core->session().state(), SessionState::reconnecting);
  EXPECT_TRUE(core->may_send());
}

TEST_F(LinkCoreTest, WithoutReconnectionALossFails) {
  options.reconnect.enabled = false;
  open();
  core->on_disconnected(now);
  (void)advance(LinkCore::disconnect_grace);
  EXPECT_EQ(core->session().state(), SessionState::failed);
  EXPECT_TRUE(core->finished());
}

// stop() while an application thread is inside submit(): no BYE until that submit left and the
// pipe is empty (the race of the hand-over issue, as events).
TEST_F(LinkCoreTest, StopSaysByeOnlyOnceNothingOfTheApplicationsIsOnItsWay) {
  open();
  core->on_stop_requested(now);
  probes.submitting = true;
  EXPECT_EQ(count<Bye>(advance(1ms)), 0u);
  probes.submitting = false;
  probes.queue_empty = false;  // its object is in the queue now
  EXPECT_EQ(count<Bye>(advance(1ms)), 0u);
  core->on_application(Produce{1, "g", 1, zmq::message_t(std::string("last"))});
  probes.queue_empty = true;
  const auto actions = advance(1ms);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Produce>(std::get<ClientMessage>(actions[0]))) << "the object goes before BYE";
  EXPECT_TRUE(std::holds_alternative<Bye>(std::get<ClientMessage>(actions[1])));
  broker(Goodbye{GoodbyeReason::bye});
  EXPECT_EQ(core->session().state(), SessionState::closed);
}

TEST_F(LinkCoreTest, AStopTheBrokerNeverConfirmsFailsAtTheStopTimeout) {
  options.stop_timeout = 300ms;
  open();
  core->on_stop_requested(now);
  EXPECT_EQ(count<Bye>(advance(1ms)), 1u);
  (void)advance(298ms);
  EXPECT_EQ(core->session().state(), SessionState::closing);
  (void)advance(1ms);
  EXPECT_EQ(core->session().state(), SessionState::failed);
  EXPECT_EQ(core->session().failure()->code(), ErrorCode::timeout);
}

// Messages that were still on the lost connection are not read into the next session.
TEST_F(LinkCoreTest, WhatArrivesAfterALossIsNotTakenForTheNextSession) {
  open();
  core->on_disconnected(now);
  (void)advance(LinkCore::disconnect_grace);
  broker(Deliver{"g", Kind::produced, 5, 1, zmq::message_t(std::string("stale"))});
  EXPECT_TRUE(core->session().take_deliveries().empty());
}

TEST_F(LinkCoreTest, UnconfirmedBytesPauseTheApplicationUntilTheBrokerConfirms) {
  options.max_unconfirmed_bytes = 100;
  open();
  core->on_application(Produce{1, "g", 1, zmq::message_t(60)});
  EXPECT_TRUE(core->accepts_application()) << "60 of 100 bytes";
  core->on_application(Produce{2, "g", 1, zmq::message_t(60)});
  EXPECT_FALSE(core->accepts_application()) << "120 bytes unconfirmed: the next object waits";
  std::uint64_t token = 0;
  for (const LinkAction& action : core->take_actions()) {
    if (const auto* m = std::get_if<ClientMessage>(&action); m != nullptr && std::holds_alternative<Ping>(*m)) {
      token = std::get<Ping>(*m).token;
    }
  }
  ASSERT_NE(token, 0u) << "a PING after a quarter of the bytes, so the confirmation comes";
  broker(Pong{token});
  EXPECT_TRUE(core->accepts_application());
}

}  // namespace
}  // namespace zrelay::endpoint
