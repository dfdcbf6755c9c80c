#include "endpoint/inbox.hpp"

#include <algorithm>

#include "endpoint/wait.hpp"

namespace zrelay::endpoint {

void Inbox::push(std::vector<Message>&& messages) {
  if (messages.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (Message& message : messages) messages_.push_back(std::move(message));
  }
  arrived_.notify_all();
}

void Inbox::close(Error reason) {
  {
    std::lock_guard lock(mutex_);
    if (!closed_) closed_ = std::move(reason);
  }
  arrived_.notify_all();
}

void Inbox::wait(std::unique_lock<std::mutex>& lock, Timeout timeout) {
  const auto ready = [this] { return !messages_.empty() || closed_.has_value(); };
  if (timeout > Timeout::zero()) (void)endpoint::wait_for(arrived_, lock, timeout, ready);
  if (messages_.empty() && closed_) throw *closed_;
}

std::vector<Message> Inbox::take_front(std::size_t count) {
  count = std::min(count, messages_.size());
  std::vector<Message> taken(std::make_move_iterator(messages_.begin()),
                             std::make_move_iterator(messages_.begin() + static_cast<std::ptrdiff_t>(count)));
  messages_.erase(messages_.begin(), messages_.begin() + static_cast<std::ptrdiff_t>(count));
  return taken;
}

std::vector<Message> Inbox::pop(std::size_t max_items, Timeout timeout) {
  std::unique_lock lock(mutex_);
  wait(lock, timeout);
  return take_front(max_items);
}

std::vector<Message> Inbox::get_last(std::size_t max_items, Timeout timeout) {
  std::unique_lock lock(mutex_);
  wait(lock, timeout);
  const std::size_t keep = std::min(max_items, messages_.size());
  messages_.erase(messages_.begin(), messages_.end() - static_cast<std::ptrdiff_t>(keep));
  return take_front(keep);
}

std::vector<Message> Inbox::receive_all(Timeout timeout) {
  std::unique_lock lock(mutex_);
  wait(lock, timeout);
  return take_front(messages_.size());
}

std::size_t Inbox::size() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

}  // namespace zrelay::endpoint
