#include "endpoint/liveness.hpp"

namespace zrelay::endpoint {

void Liveness::start(Clock::time_point now, std::chrono::milliseconds heartbeat, std::chrono::milliseconds liveness) {
  heartbeat_ = heartbeat;
  liveness_ = liveness;
  last_heard_ = now;
  last_ping_ = now;
}

}  // namespace zrelay::endpoint
