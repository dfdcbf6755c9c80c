#pragma once
// The application's messages on their way to the I/O thread, in order: a queue under a mutex.
// A message crosses as it is (no encoding to cross an inproc pipe and decoding after it), and a
// burst costs one wake-up, for the message that found the queue empty. Its bound is in payload
// bytes, shared with what the session keeps unconfirmed for resending: a producer holds at most
// EndpointOptions::max_unconfirmed_bytes plus the one object that crossed it.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "protocol/messages.hpp"

namespace zrelay::endpoint {

class SubmitQueue {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Pushed {
    first,      // queued, into an empty queue: the I/O thread needs a wake-up
    queued,     // queued behind others
    timed_out,  // no room before the deadline: not queued
    closed,     // the I/O thread has ended: not queued
  };

  SubmitQueue(std::size_t max_messages, std::size_t max_bytes) : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // Waits for room until `deadline` (none: for ever): fewer than max_messages queued and fewer
  // than max_bytes held (queued, taken and unconfirmed).
  [[nodiscard]] Pushed push(protocol::ClientMessage&& message, std::optional<Clock::time_point> deadline);
  // The I/O thread's side: the first message waiting, if any.
  [[nodiscard]] std::optional<protocol::ClientMessage> take();
  [[nodiscard]] bool empty() const;
  // The I/O thread, after each turn: the payload bytes its session keeps unconfirmed now, which
  // include those of every message it took before.
  void set_unconfirmed_bytes(std::size_t bytes);
  // The I/O thread has ended: waiting and later pushes return closed; what is queued is dropped.
  void close();

 private:
  [[nodiscard]] bool has_room() const noexcept;

  const std::size_t max_messages_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable room_;
  std::deque<protocol::ClientMessage> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t taken_bytes_ = 0;  // taken since the session's count was last set
  std::size_t unconfirmed_bytes_ = 0;
  bool closed_ = false;
};

}  // namespace zrelay::endpoint
