#include "broker/group.hpp"

#include <algorithm>

#include "protocol/limits.hpp"

namespace zrelay::broker {

bool Group::has_member(const ClientId& client) const {
  return std::find(members_.begin(), members_.end(), client) != members_.end();
}

bool Group::full() const noexcept { return options_.max_count != 0 && members_.size() >= options_.max_count; }

void Group::add_member(const ClientId& client) {
  if (!has_member(client)) members_.push_back(client);
}

void Group::remove_member(const ClientId& client) {
  std::erase(members_, client);
  credits_.erase(client);
  remove_from_ready(client);
}

void Group::set_last_value(zmq::message_t& payload, const ObjectId& object) {
  zmq::message_t copy;
  copy.copy(payload);
  last_value_ = std::move(copy);
  last_value_object_ = object;
}

zmq::message_t* Group::last_value() noexcept { return last_value_ ? &*last_value_ : nullptr; }

std::optional<std::size_t> Group::last_value_size() const noexcept {
  return last_value_ ? std::optional<std::size_t>(last_value_->size()) : std::nullopt;
}

void Group::add_credits(const ClientId& client, std::int64_t credits) {
  auto& held = credits_[client];
  const bool was_ready = held > 0;
  held = std::min(held + credits, protocol::max_credits);
  if (!was_ready && held > 0) ready_.push_back(client);
}

std::int64_t Group::credits(const ClientId& client) const {
  const auto it = credits_.find(client);
  return it == credits_.end() ? 0 : it->second;
}

std::optional<ClientId> Group::take_credit() {
  if (ready_.empty()) return std::nullopt;
  ClientId client = std::move(ready_.front());
  ready_.pop_front();
  if (--credits_[client] > 0) ready_.push_back(client);
  return client;
}

void Group::return_credit(const ClientId& client) {
  if (!has_member(client)) return;
  auto& held = credits_[client];
  if (held++ == 0) ready_.push_front(client);
}

void Group::drop_credits(const ClientId& client) {
  credits_.erase(client);
  remove_from_ready(client);
}

std::int64_t Group::outstanding_credits() const noexcept {
  std::int64_t total = 0;
  for (const auto& [client, credits] : credits_) total += credits;
  return total;
}

void Group::suspend(const ClientId& client) { remove_from_ready(client); }

void Group::resume(const ClientId& client) {
  if (credits(client) > 0 && std::find(ready_.begin(), ready_.end(), client) == ready_.end()) {
    ready_.push_back(client);
  }
}

bool Group::queue_full() const noexcept {
  return options_.max_consumables != 0 && queue_.size() >= options_.max_consumables;
}

std::optional<QueuedItem> Group::push(QueuedItem&& item) {
  if (!queue_full()) {
    queue_.push_back(std::move(item));
    return std::nullopt;
  }
  if (options_.overflow == Overflow::refuse) return std::move(item);
  QueuedItem oldest = std::move(queue_.front());
  queue_.pop_front();
  queue_.push_back(std::move(item));
  return oldest;
}

void Group::push_front(QueuedItem&& item) { queue_.push_front(std::move(item)); }

std::optional<QueuedItem> Group::pop() {
  if (queue_.empty()) return std::nullopt;
  QueuedItem item = std::move(queue_.front());
  queue_.pop_front();
  return item;
}

void Group::remove_from_ready(const ClientId& client) {
  const auto it = std::find(ready_.begin(), ready_.end(), client);
  if (it != ready_.end()) ready_.erase(it);
}

}  // namespace zrelay::broker
