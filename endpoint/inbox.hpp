#pragma once
// The endpoint's local queue of received objects, shared by the I/O thread (push) and the
// application (pop, get_last, receive_all). Waits use condition variables with deadlines.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include <zrelay/error.hpp>
#include <zrelay/message.hpp>

namespace zrelay::endpoint {

class Inbox {
 public:
  using Timeout = std::chrono::milliseconds;

  void push(std::vector<Message>&& messages);
  // No more messages will come; waiters wake. `reason` is thrown to callers that find nothing.
  void close(Error reason);

  [[nodiscard]] std::vector<Message> pop(std::size_t max_items, Timeout timeout);
  [[nodiscard]] std::vector<Message> get_last(std::size_t max_items, Timeout timeout);
  [[nodiscard]] std::vector<Message> receive_all(Timeout timeout);
  [[nodiscard]] std::size_t size() const;

 private:
  // Waits until a message is there or the timeout passes; throws if closed and empty.
  void wait(std::unique_lock<std::mutex>& lock, Timeout timeout);
  std::vector<Message> take_front(std::size_t count);

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<Message> messages_;
  std::optional<Error> closed_;
};

}  // namespace zrelay::endpoint
