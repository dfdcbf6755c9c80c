#include "endpoint/inbox.hpp"

#include <algorithm>
#include <set>
#include <string_view>

#include "endpoint/wait.hpp"

namespace zrelay::endpoint {

void Inbox::push(std::vector<Message>&& messages) {
  if (messages.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (Message& message : messages) {
      if (message.kind() == Kind::broadcast) {
        broadcast_bytes_ += message.size();
        if (++broadcasts_ > max_broadcasts_) drop_oldest_broadcast();
      }
      messages_.push_back(std::move(message));
    }
    if (broadcast_bytes_ > max_broadcast_bytes_) keep_newest_per_group();
  }
  arrived_.notify_all();
}

void Inbox::drop_oldest_broadcast() {
  const auto oldest = std::find_if(messages_.begin(), messages_.end(),
                                   [](const Message& m) { return m.kind() == Kind::broadcast; });
  if (oldest == messages_.end()) return;
  dropped(*oldest);
  messages_.erase(oldest);
}

void Inbox::keep_newest_per_group() {
  std::set<std::string_view> newer;  // groups with a broadcast after the one looked at
  std::vector<bool> drop(messages_.size(), false);
  for (std::size_t i = messages_.size(); i-- > 0;) {
    const Message& m = messages_[i];
    if (m.kind() == Kind::broadcast) drop[i] = !newer.insert(m.group()).second;
  }
  std::size_t i = 0;
  std::erase_if(messages_, [&](const Message& m) {
    if (!drop[i++]) return false;
    dropped(m);
    return true;
  });
}

void Inbox::dropped(const Message& broadcast) {
  --broadcasts_;
  broadcast_bytes_ -= broadcast.size();
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
  const auto end = messages_.begin() + static_cast<std::ptrdiff_t>(count);
  for (auto it = messages_.begin(); it != end; ++it) {  // counted before they are moved out
    if (it->kind() != Kind::broadcast) continue;
    --broadcasts_;
    broadcast_bytes_ -= it->size();
  }
  std::vector<Message> taken(std::make_move_iterator(messages_.begin()), std::make_move_iterator(end));
  messages_.erase(messages_.begin(), end);
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

std::size_t Inbox::size() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

}  // namespace zrelay::endpoint
