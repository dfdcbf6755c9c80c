#pragma once
// The endpoint's local queue of received objects, shared by the I/O thread (push) and the
// application (pop, get_last, receive_all). Waits use condition variables with deadlines.
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <zrelay/error.hpp>
#include <zrelay/message.hpp>

namespace zrelay::endpoint {

class Inbox {
 public:
  using Timeout = std::chrono::milliseconds;

  // Past `max_broadcasts` waiting broadcasts the oldest one is dropped (broadcast is last-value,
  // not a log); past `max_broadcast_bytes` of them, only the newest of each group is kept.
  // Produced items are never dropped here: credits bound them.
  explicit Inbox(std::size_t max_broadcasts = 1000, std::size_t max_broadcast_bytes = std::size_t{256} << 20)
      : max_broadcasts_(max_broadcasts), max_broadcast_bytes_(max_broadcast_bytes) {}

  void push(std::vector<Message>&& messages);
  // Removes the produced items not taken yet (their session is gone: the broker gives them out
  // again); returns how many of each group.
  std::map<std::string, std::size_t> discard_produced();
  [[nodiscard]] std::uint64_t dropped_broadcasts() const;
  // No more messages will come; waiters wake. `reason` is thrown to callers that find nothing.
  void close(Error reason);

  [[nodiscard]] std::vector<Message> pop(std::size_t max_items, Timeout timeout);
  // The newest max_items; the older ones are removed and, if asked, handed over in `discarded`.
  // With `keep_produced`, older produced items are not removed: they stay, in order, for pop().
  [[nodiscard]] std::vector<Message> get_last(std::size_t max_items, Timeout timeout,
                                              std::vector<Message>* discarded = nullptr, bool keep_produced = false);
  [[nodiscard]] std::vector<Message> receive_all(Timeout timeout);
  [[nodiscard]] std::size_t size() const;

 private:
  // Waits until a message is there or the timeout passes; throws if closed and empty.
  void wait(std::unique_lock<std::mutex>& lock, Timeout timeout);
  // Moves the first `count` messages out, keeping the broadcast counts right.
  std::vector<Message> take_front(std::size_t count);

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  void drop_oldest_broadcast();
  // Drops every waiting broadcast that a newer one of its group follows.
  void keep_newest_per_group();
  void dropped(const Message& broadcast);

  std::size_t max_broadcasts_;
  std::size_t max_broadcast_bytes_;
  std::size_t broadcasts_ = 0;  // of messages_
  std::size_t broadcast_bytes_ = 0;  // their payloads
  std::uint64_t dropped_broadcasts_ = 0;
  std::deque<Message> messages_;
  std::optional<Error> closed_;
};

}  // namespace zrelay::endpoint
