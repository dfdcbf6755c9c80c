#pragma once
// Application-level heartbeat of one session, as seen by the endpoint: when to PING the broker,
// and when its silence means the session is gone (ZMTP heartbeats cannot tell the application).
#include <chrono>

namespace zrelay::endpoint {

class Liveness {
 public:
  using Clock = std::chrono::steady_clock;

  // A new session attempt starts at `now`, with the broker's announced intervals.
  void start(Clock::time_point now, std::chrono::milliseconds heartbeat, std::chrono::milliseconds liveness);
  void heard(Clock::time_point now) noexcept { last_heard_ = now; }
  void pinged(Clock::time_point now) noexcept { last_ping_ = now; }

  [[nodiscard]] bool ping_due(Clock::time_point now) const noexcept { return now - last_ping_ >= heartbeat_; }
  [[nodiscard]] bool broker_silent(Clock::time_point now) const noexcept { return now - last_heard_ >= liveness_; }

 private:
  std::chrono::milliseconds heartbeat_{1000};
  std::chrono::milliseconds liveness_{3000};
  Clock::time_point last_heard_{};
  Clock::time_point last_ping_{};
};

}  // namespace zrelay::endpoint
