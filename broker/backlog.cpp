#include "broker/backlog.hpp"

#include <iterator>

namespace zrelay::broker {
namespace {

Waiting waiting_for(protocol::BrokerMessage&& message) {
  const auto* deliver = std::get_if<protocol::Deliver>(&message);
  if (deliver != nullptr && deliver->kind == Kind::broadcast) return Waiting{std::nullopt, deliver->group};
  return Waiting{std::move(message), {}};
}

}  // namespace

void Backlog::charge_to(const PayloadAccount& account) {
  account_ = account;
  recharge();
}

void Backlog::recharge() {
  if (account_) charge_ = account_->charge(entry_cost * entries_.size());
}

void Backlog::push_back(protocol::BrokerMessage&& message) {
  entries_.push_back(Waiting{std::move(message), {}});
  recharge();
}

bool Backlog::push_back_last_value(const std::string& group) {
  if (!last_values_.insert(group).second) return false;
  entries_.push_back(Waiting{std::nullopt, group});
  recharge();
  return true;
}

void Backlog::push_front(std::vector<protocol::BrokerMessage>&& refused) {
  std::deque<Waiting> merged;
  for (auto& message : refused) merged.push_back(waiting_for(std::move(message)));
  std::move(entries_.begin(), entries_.end(), std::back_inserter(merged));
  // A group's last value is sent once, at its earliest place.
  entries_.clear();
  last_values_.clear();
  for (auto& entry : merged) {
    if (!entry.message && !last_values_.insert(entry.group).second) continue;
    entries_.push_back(std::move(entry));
  }
  recharge();
}

Waiting Backlog::take_front() {
  Waiting next = std::move(entries_.front());
  entries_.pop_front();
  if (!next.message) last_values_.erase(next.group);
  recharge();
  return next;
}

}  // namespace zrelay::broker
