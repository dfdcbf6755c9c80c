#pragma once
// Bounds how many log lines a flood of events can write: at most `burst` per window, the rest
// counted and reported as one line. A hostile client must not be able to fill the disk.
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace zrelay::broker {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  LogLimiter(std::size_t burst, Clock::duration window) : burst_(burst), window_(window) {}

  // True if one more line may be written now; false counts it as suppressed.
  [[nodiscard]] bool admit(Clock::time_point now);
  // Lines suppressed in windows that have ended, each counted once (0 if none).
  [[nodiscard]] std::uint64_t take_suppressed(Clock::time_point now);

 private:
  void roll(Clock::time_point now);

  std::size_t burst_;
  Clock::duration window_;
  Clock::time_point window_start_{};
  std::size_t written_ = 0;
  std::uint64_t suppressed_now_ = 0;   // in the current window
  std::uint64_t suppressed_done_ = 0;  // in ended windows, not yet reported
};

}  // namespace zrelay::broker
