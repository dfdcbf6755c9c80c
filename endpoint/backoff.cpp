#include "endpoint/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace zrelay::endpoint {

std::chrono::milliseconds Backoff::next(double unit_random) {
  const double initial = static_cast<double>(options_.initial_delay.count());
  const double cap = static_cast<double>(options_.max_delay.count());
  const double grown = std::min(cap, initial * std::pow(std::max(1.0, options_.factor), attempts_));
  const double jitter = std::clamp(options_.jitter, 0.0, 1.0) * (2.0 * std::clamp(unit_random, 0.0, 1.0) - 1.0);
  ++attempts_;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(0.0, grown * (1.0 + jitter))));
}

bool Backoff::exhausted() const noexcept { return options_.max_attempts != 0 && attempts_ >= options_.max_attempts; }

}  // namespace zrelay::endpoint
