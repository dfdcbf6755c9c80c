#include "endpoint/liveness.hpp"

#include <gtest/gtest.h>

namespace zrelay::endpoint {
namespace {

using std::chrono::milliseconds;

TEST(Liveness, PingsEveryHeartbeatAndGivesUpAfterLiveness) {
  Liveness liveness;
  const auto t0 = Liveness::Clock::time_point{} + std::chrono::hours(1);
  liveness.start(t0, milliseconds(100), milliseconds(300));
  EXPECT_FALSE(liveness.ping_due(t0 + milliseconds(99)));
  EXPECT_TRUE(liveness.ping_due(t0 + milliseconds(100)));
  liveness.pinged(t0 + milliseconds(100));
  EXPECT_FALSE(liveness.ping_due(t0 + milliseconds(150)));
  EXPECT_FALSE(liveness.broker_silent(t0 + milliseconds(299)));
  EXPECT_TRUE(liveness.broker_silent(t0 + milliseconds(300)));
}

TEST(Liveness, HearingFromTheBrokerKeepsTheSession) {
  Liveness liveness;
  const auto t0 = Liveness::Clock::time_point{} + std::chrono::hours(1);
  liveness.start(t0, milliseconds(100), milliseconds(300));
  liveness.heard(t0 + milliseconds(250));
  EXPECT_FALSE(liveness.broker_silent(t0 + milliseconds(500)));
  EXPECT_TRUE(liveness.broker_silent(t0 + milliseconds(550)));
}

}  // namespace
}  // namespace zrelay::endpoint
