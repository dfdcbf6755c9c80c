#include "broker/log_limiter.hpp"

namespace zrelay::broker {

void LogLimiter::roll(Clock::time_point now) {
  if (now - window_start_ < window_) return;
  window_start_ = now;
  written_ = 0;
  suppressed_done_ += suppressed_now_;
  suppressed_now_ = 0;
}

bool LogLimiter::admit(Clock::time_point now) {
  roll(now);
  if (written_ < burst_) {
    ++written_;
    return true;
  }
  ++suppressed_now_;
  return false;
}

std::uint64_t LogLimiter::take_suppressed(Clock::time_point now) {
  roll(now);
  const std::uint64_t count = suppressed_done_;
  suppressed_done_ = 0;
  return count;
}

}  // namespace zrelay::broker
