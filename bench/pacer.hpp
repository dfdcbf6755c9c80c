#pragma once
// Keeps a publisher at most `window` messages ahead of its slowest subscriber. Fan-out is then
// measured as sustained delivery: no system gets to queue without bound (the bare forwarder
// would) or to skip values (zrelay's broadcast gives a member that is behind only the newest).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

namespace zrelay::bench {

class Pacer {
 public:
  Pacer(int subscribers, std::uint64_t window)
      : subscribers_(subscribers), window_(window), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(subscribers)) {}

  // A subscriber thread received `n` more messages.
  void received(int subscriber, std::uint64_t n) {
    counts_[subscriber].fetch_add(n);
    if (waiting_.load()) {
      std::lock_guard lock(mutex_);
      progressed_.notify_one();
    }
  }

  // The publisher, before sending message `index` (from 0): waits until every subscriber has
  // received all but the last `window` messages before it. A subscriber that makes no progress
  // for a second (it was skipped values it will never count) ends the pacing.
  void before_send(std::uint64_t index) {
    if (index < window_ || stalled_) return;
    const std::uint64_t needed = index - window_;
    if (slowest() >= needed) return;
    std::unique_lock lock(mutex_);
    waiting_.store(true);
    stalled_ = !progressed_.wait_for(lock, std::chrono::seconds(1), [&] { return slowest() >= needed; });
    waiting_.store(false);
  }

  // Messages of `size` bytes in flight: at most 16 MiB and 500 messages (under libzmq's
  // default high-water mark of 1000 and zrelay's per-client pending limit of 64 MiB).
  [[nodiscard]] static std::uint64_t window_for(std::size_t size) {
    const std::uint64_t by_bytes = (16ull << 20) / (size == 0 ? 1 : size);
    return by_bytes < 4 ? 4 : (by_bytes > 500 ? 500 : by_bytes);
  }

 private:
  [[nodiscard]] std::uint64_t slowest() const {
    std::uint64_t least = UINT64_MAX;
    for (int s = 0; s < subscribers_; ++s) {
      const std::uint64_t c = counts_[s].load();
      least = c < least ? c : least;
    }
    return least;
  }

  int subscribers_;
  std::uint64_t window_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::mutex mutex_;
  std::condition_variable progressed_;
  std::atomic<bool> waiting_{false};
  bool stalled_ = false;  // the publisher's thread only
};

}  // namespace zrelay::bench
