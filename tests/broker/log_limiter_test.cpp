#include "broker/log_limiter.hpp"

#include <gtest/gtest.h>

namespace zrelay::broker {
namespace {

using namespace std::chrono_literals;

TEST(LogLimiter, ABurstPassesTheRestIsCountedAndReportedOnceTheWindowEnds) {
  LogLimiter limiter(3, 1s);
  const LogLimiter::Clock::time_point t0{10s};
  int written = 0;
  for (int i = 0; i < 10; ++i) written += limiter.admit(t0 + std::chrono::milliseconds(i)) ? 1 : 0;
  EXPECT_EQ(written, 3);
  EXPECT_EQ(limiter.take_suppressed(t0 + 500ms), 0u) << "the window has not ended";
  EXPECT_EQ(limiter.take_suppressed(t0 + 1s), 7u);
  EXPECT_EQ(limiter.take_suppressed(t0 + 3s), 0u) << "reported once";
  EXPECT_TRUE(limiter.admit(t0 + 3s)) << "a new window lets lines through again";
}

}  // namespace
}  // namespace zrelay::broker
