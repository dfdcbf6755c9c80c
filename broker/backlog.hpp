#pragma once
// Replies waiting for a client whose connection did not take them yet, in order. A broadcast
// waits as a reference to its group's last value, resolved when it is sent: the member gets the
// newest value in the place of the one it missed, and nothing sent later overtakes it.
#include <cstddef>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

#include "broker/payload_account.hpp"

namespace zrelay::broker {

struct Waiting {
  std::optional<protocol::BrokerMessage> message;  // empty: the last value of `group`
  std::string group;
};

class Backlog {
 public:
  // What one waiting reply is charged in the budget: the entry and the reply, whose texts are
  // the broker's own (an ERROR's reason and a group name of at most 255 bytes).
  static constexpr std::uint64_t entry_cost = 512;

  // From now on the entries count in `account` (entry_cost each) while they wait.
  void charge_to(const PayloadAccount& account);

  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

  void push_back(protocol::BrokerMessage&& message);
  // False if the group's last value waits here already: that entry then stands for the new value.
  [[nodiscard]] bool push_back_last_value(const std::string& group);
  // Messages the peer refused, which were sent before anything waiting here; a broadcast among
  // them becomes a reference to its group's last value.
  void push_front(std::vector<protocol::BrokerMessage>&& refused);

  [[nodiscard]] Waiting take_front();
  [[nodiscard]] const Waiting& front() const { return entries_.front(); }

 private:
  void recharge();

  std::optional<PayloadAccount> account_;
  Charge charge_;
  std::deque<Waiting> entries_;
  std::set<std::string> last_values_;  // groups whose last value waits in entries_
};

}  // namespace zrelay::broker
