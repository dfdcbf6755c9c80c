#include "endpoint/inbox.hpp"

#include <algorithm>

#include "endpoint/wait.hpp"

namespace zrelay::endpoint {

void Inbox::push(std::vector<Message>&& messages) {
  if (messages.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (Message& message : messages) {
      if (message.kind() == Kind::broadcast && ++broadcasts_ > max_broadcasts_) drop_oldest_broadcast();
      messages_.push_back(std::move(message));
    }
  }
  arrived_.notify_all();
}

void Inbox::drop_oldest_broadcast() {
  const auto oldest = std::find_if(messages_.begin(), messages_.end(),
                                   [](const Message& m) { return m.kind() == Kind::broadcast; });
  if (oldest == messages_.end()) return;
  messages_.erase(oldest);
  --broadcasts_;
  ++dropped_broadcasts_;
}

std::map<std::string, std::size_t> Inbox::discard_produced() {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::size_t> removed;
  std::erase_if(messages_, [&removed](const Message& m) {
    if (m.kind() != Kind::produced) return false;
    ++removed[m.group()];
    return true;
  });
  return removed;
}

std::uint64_t Inbox::dropped_broadcasts() const {
  std::lock_guard lock(mutex_);
  return dropped_broadcasts_;
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
  erase_front(count);
  return taken;
}

std::vector<Message> Inbox::pop(std::size_t max_items, Timeout timeout) {
  std::unique_lock lock(mutex_);
  wait(lock, timeout);
  return take_front(max_items);
}

std::vector<Message> Inbox::get_last(std::size_t max_items, Timeout timeout, std::vector<Message>* discarded,
                                     bool keep_produced) {
  std::unique_lock lock(mutex_);
  wait(lock, timeout);
  const std::size_t keep = std::min(max_items, messages_.size());
  std::vector<Message> older = take_front(messages_.size() - keep);
  std::vector<Message> newest = take_front(keep);
  if (keep_produced) {
    std::vector<Message> skipped;
    std::vector<Message> kept;
    for (Message& m : older) (m.kind() == Kind::produced ? kept : skipped).push_back(std::move(m));
    older = std::move(skipped);
    messages_.insert(messages_.begin(), std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
  }
  if (discarded != nullptr) *discarded = std::move(older);
  return newest;
}

std::vector<Message> Inbox::receive_all(Timeout timeout) {
  std::unique_lock lock(mutex_);
  wait(lock, timeout);
  return take_front(messages_.size());
}

void Inbox::erase_front(std::size_t count) {
  const auto end = messages_.begin() + static_cast<std::ptrdiff_t>(count);
  broadcasts_ -= static_cast<std::size_t>(
      std::count_if(messages_.begin(), end, [](const Message& m) { return m.kind() == Kind::broadcast; }));
  messages_.erase(messages_.begin(), end);
}

std::size_t Inbox::size() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

}  // namespace zrelay::endpoint
