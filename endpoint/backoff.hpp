#pragma once
// Delays between reconnection attempts: exponential growth with jitter, capped.
#include <chrono>

#include <zrelay/endpoint_options.hpp>

namespace zrelay::endpoint {

class Backoff {
 public:
  explicit Backoff(ReconnectOptions options) : options_(options) {}

  // The delay before the next attempt; `unit_random` in [0, 1) picks the jitter.
  [[nodiscard]] std::chrono::milliseconds next(double unit_random);
  // A session was opened: the next loss starts from initial_delay again.
  void reset() noexcept { attempts_ = 0; }
  [[nodiscard]] unsigned attempts() const noexcept { return attempts_; }
  // True once max_attempts (if any) were used.
  [[nodiscard]] bool exhausted() const noexcept;

 private:
  ReconnectOptions options_;
  unsigned attempts_ = 0;
};

}  // namespace zrelay::endpoint
