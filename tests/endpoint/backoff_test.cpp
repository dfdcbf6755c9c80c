#include "endpoint/backoff.hpp"

#include <gtest/gtest.h>

namespace zrelay::endpoint {
namespace {

using std::chrono::milliseconds;

ReconnectOptions options(double jitter = 0.0, unsigned max_attempts = 0) {
  ReconnectOptions o;
  o.initial_delay = milliseconds(100);
  o.max_delay = milliseconds(1000);
  o.factor = 2.0;
  o.jitter = jitter;
  o.max_attempts = max_attempts;
  return o;
}

TEST(Backoff, GrowsByTheFactorUpToTheCap) {
  Backoff backoff(options());
  std::vector<long> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(backoff.next(0.5).count());
  EXPECT_EQ(delays, (std::vector<long>{100, 200, 400, 800, 1000, 1000}));
}

TEST(Backoff, JitterStaysWithinItsBand) {
  Backoff low(options(0.2));
  Backoff high(options(0.2));
  EXPECT_EQ(low.next(0.0).count(), 80);
  EXPECT_EQ(high.next(0.999999).count(), 119);
}

TEST(Backoff, ResetStartsOverAfterASession) {
  Backoff backoff(options());
  (void)backoff.next(0.5);
  (void)backoff.next(0.5);
  backoff.reset();
  EXPECT_EQ(backoff.next(0.5).count(), 100);
}

TEST(Backoff, MaxAttemptsExhausts) {
  Backoff limited(options(0.0, 2));
  EXPECT_FALSE(limited.exhausted());
  (void)limited.next(0.5);
  (void)limited.next(0.5);
  EXPECT_TRUE(limited.exhausted());
  Backoff unlimited(options());
  for (int i = 0; i < 100; ++i) (void)unlimited.next(0.5);
  EXPECT_FALSE(unlimited.exhausted());
}

}  // namespace
}  // namespace zrelay::endpoint
