#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace zrelay::endpoint {

// condition_variable::wait_for with `timeout` as zrelay means it: Timeout::max() (or anything
// near it) waits without a deadline, which wait_for itself cannot do (it overflows).
template <class Predicate>
bool wait_for(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout,
              Predicate ready) {
  if (timeout >= std::chrono::hours(24 * 365 * 100)) {
    cv.wait(lock, ready);
    return true;
  }
  return cv.wait_for(lock, timeout, ready);
}

}  // namespace zrelay::endpoint
