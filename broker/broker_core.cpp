#include "broker/broker_core.hpp"

#include <algorithm>

#include "protocol/limits.hpp"

namespace zrelay::broker {

using namespace protocol;

BrokerCore::BrokerCore(BrokerLimits limits, std::string version)
    : limits_(std::move(limits)), version_(std::move(version)) {}

void BrokerCore::handle(const ClientId& from, const std::string& user_id, ClientMessage&& message) {
  auto it = clients_.find(from);
  if (it == clients_.end()) {
    if (!std::holds_alternative<Hello>(message)) {
      error(from, ErrorCode::hello_expected, 0, {}, "send HELLO first");
      return;
    }
    it = clients_.emplace(from, Client{user_id, {}, {}, {}, {}}).first;
  } else if (it->second.user_id != user_id) {
    // Cannot happen with libzmq's own routing ids; refuse rather than trust the routing id.
    error(from, ErrorCode::not_authorized, 0, {}, "message authenticated as another key");
    return;
  }
  std::visit([&](auto&& m) { on(from, it->second, std::move(m)); }, std::move(message));
  forget_overflowed();
}

void BrokerCore::forget_overflowed() {
  for (const ClientId& client : std::exchange(overflowed_, {})) forget(client);
}

void BrokerCore::reject(const ClientId& from, const Error& failure) {
  error(from, failure.code(), 0, {}, failure.what());
}

void BrokerCore::on(const ClientId& from, Client& client, Hello&& m) {
  client.name = std::move(m.name);
  send(from, Welcome{limits_.max_message_size, version_});
}

void BrokerCore::on(const ClientId& from, Client& client, Join&& m) {
  Group* group = find_or_create(from, m.group, 0);
  if (group == nullptr) return;
  if (!group->has_member(from)) {
    if (group->full()) {
      error(from, ErrorCode::group_full, 0, m.group,
            "group has its maximum of " + std::to_string(group->options().max_count) + " members");
      return;
    }
    group->add_member(from);
    client.groups.insert(m.group);
  }
  send(from, Joined{m.group});
  deliver_last_value(from, *group);
}

void BrokerCore::on(const ClientId& from, Client& client, Leave&& m) {
  if (client.groups.erase(m.group) == 0) {
    error(from, ErrorCode::not_member, 0, m.group, "not a member of this group");
    return;
  }
  groups_.at(m.group).remove_member(from);
  client.stale_groups.erase(m.group);
  suspended_.erase({m.group, from});
  send(from, Left{m.group});
}

void BrokerCore::on(const ClientId& from, Client&, Broadcast&& m) {
  if (m.payload.size() > limits_.max_message_size) {
    error(from, ErrorCode::too_large, m.seq, m.group, "payload over the broker's max_message_size");
    return;
  }
  Group* group = find_or_create(from, m.group, m.seq);
  if (group == nullptr) return;
  ++group->stats.broadcasts;
  group->set_last_value(m.payload);
  for (const ClientId& member : group->members()) deliver_last_value(member, *group);
}

void BrokerCore::on(const ClientId& from, Client&, Produce&& m) {
  if (m.payload.size() > limits_.max_message_size) {
    error(from, ErrorCode::too_large, m.seq, m.group, "payload over the broker's max_message_size");
    return;
  }
  if (m.copies == 0 || m.copies > max_copies) {
    error(from, ErrorCode::invalid_argument, m.seq, m.group, "copies must be 1..65535");
    return;
  }
  Group* group = find_or_create(from, m.group, m.seq);
  if (group == nullptr) return;
  std::uint32_t refused = 0;
  for (std::uint32_t i = 0; i < m.copies; ++i) {
    QueuedItem item{zmq::message_t(), from, m.seq};
    if (i + 1 == m.copies) {
      item.payload = std::move(m.payload);
    } else {
      item.payload.copy(m.payload);  // shares the buffer of large payloads
    }
    if (auto bounced = group->push(std::move(item))) {
      if (group->options().overflow == Overflow::refuse) {
        refused = m.copies - i;
        group->stats.refused += refused;
        break;
      }
      notify_dropped(*group, std::move(*bounced));
    }
    ++group->stats.produced;
    dispatch(*group);
  }
  if (refused > 0) {
    error(from, ErrorCode::queue_full, m.seq, m.group,
          "queue full (max_consumables " + std::to_string(group->options().max_consumables) + "): refused " +
              std::to_string(refused) + " of " + std::to_string(m.copies) + " copies");
  }
}

void BrokerCore::on(const ClientId& from, Client& client, Ready&& m) {
  if (client.groups.count(m.group) == 0) {
    error(from, ErrorCode::not_member, 0, m.group, "READY for a group this client has not joined");
    return;
  }
  if (m.credits == 0) {
    error(from, ErrorCode::invalid_argument, 0, m.group, "READY needs a non-zero credit count");
    return;
  }
  Group& group = groups_.at(m.group);
  if (m.credits > 0) {
    group.add_credits(from, m.credits);
    if (suspended_.count({m.group, from}) != 0) group.suspend(from);
    dispatch(group);
    return;
  }
  while (auto item = group.pop()) deliver_produced(from, group, std::move(*item));
}

void BrokerCore::on(const ClientId& from, Client&, Ping&& m) { send(from, Pong{m.token}); }

void BrokerCore::on(const ClientId& from, Client&, Bye&&) {
  forget(from);
  send(from, Goodbye{});
}

Group* BrokerCore::find_or_create(const ClientId& from, const std::string& name, std::uint64_t seq) {
  if (auto it = groups_.find(name); it != groups_.end()) return &it->second;
  GroupOptions options;
  if (limits_.accepted_groups.empty()) {
    options = limits_.default_group;
  } else {
    const auto accepted = std::find_if(limits_.accepted_groups.begin(), limits_.accepted_groups.end(),
                                       [&](const GroupOptions& g) { return g.name == name; });
    if (accepted == limits_.accepted_groups.end()) {
      error(from, ErrorCode::unknown_group, seq, name, "the broker does not accept this group");
      return nullptr;
    }
    options = *accepted;
  }
  if (groups_.size() >= limits_.max_groups) {
    error(from, ErrorCode::too_many_groups, seq, name,
          "the broker has its maximum of " + std::to_string(limits_.max_groups) + " groups");
    return nullptr;
  }
  options.name = name;
  return &groups_.emplace(name, Group(std::move(options))).first->second;
}

void BrokerCore::forget(const ClientId& client) {
  const auto it = clients_.find(client);
  if (it == clients_.end()) return;
  for (const std::string& name : it->second.groups) {
    Group& group = groups_.at(name);
    group.remove_member(client);
    suspended_.erase({name, client});
  }
  clients_.erase(it);
}

void BrokerCore::dispatch(Group& group) {
  while (group.queue_size() > 0) {
    auto to = group.take_credit();
    if (!to) return;
    deliver_produced(*to, group, std::move(*group.pop()));
  }
}

void BrokerCore::deliver_produced(const ClientId& to, Group& group, QueuedItem&& item) {
  ++group.stats.delivered;
  outbox_.push_back(Outgoing{to, Deliver{group.name(), Kind::produced, next_delivery_id_++, std::move(item.payload)},
                             std::move(item.producer), item.seq});
}

void BrokerCore::deliver_last_value(const ClientId& to, Group& group) {
  zmq::message_t* value = group.last_value();
  if (value == nullptr) return;
  zmq::message_t payload;
  payload.copy(*value);
  send(to, Deliver{group.name(), Kind::broadcast, next_delivery_id_++, std::move(payload)});
}

void BrokerCore::notify_dropped(Group& group, QueuedItem&& item) {
  ++group.stats.dropped;
  if (clients_.count(item.producer) == 0) return;
  error(item.producer, ErrorCode::item_dropped, item.seq, group.name(),
        "queue full (max_consumables " + std::to_string(group.options().max_consumables) +
            "): this older item was dropped for a newer one");
}

void BrokerCore::undeliverable(std::vector<Undelivered>&& failed) {
  for (auto& f : failed) {
    if (f.peer_gone) forget(f.out.to);
  }
  // Each re-queued item goes to the head of its queue: last first keeps them in order, and
  // nothing is handed out again before all of them are back.
  std::set<Group*> requeued;
  for (auto it = failed.rbegin(); it != failed.rend(); ++it) {
    const auto* deliver = std::get_if<Deliver>(&it->out.message);
    if (deliver != nullptr && deliver->kind == Kind::produced) {
      if (Group* group = requeue(std::move(it->out), it->peer_gone)) requeued.insert(group);
    }
  }
  for (Group* group : requeued) dispatch(*group);
  for (auto& f : failed) {
    auto client = clients_.find(f.out.to);
    if (client == clients_.end()) continue;
    if (const auto* deliver = std::get_if<Deliver>(&f.out.message)) {
      if (deliver->kind == Kind::broadcast) client->second.stale_groups.insert(deliver->group);
    } else {
      client->second.backlog.push_back(std::move(f.out.message));
      if (client->second.backlog.size() == max_backlog + 1) overflowed_.push_back(f.out.to);
    }
  }
  forget_overflowed();
}

Group* BrokerCore::requeue(Outgoing&& out, bool peer_gone) {
  auto& deliver = std::get<Deliver>(out.message);
  auto group_it = groups_.find(deliver.group);
  if (group_it == groups_.end()) return nullptr;
  Group& group = group_it->second;
  --group.stats.delivered;
  group.push_front(QueuedItem{std::move(deliver.payload), std::move(out.producer), out.seq});
  if (!peer_gone) {
    // A credit for each item it could not take, also for items asked for with READY n < 0:
    // the client still gets that many items once it has room.
    group.return_credit(out.to);
    group.suspend(out.to);
    suspended_.insert({group.name(), out.to});
  }
  return &group;
}

void BrokerCore::tick() {
  for (auto& [id, client] : clients_) {
    for (auto& message : std::exchange(client.backlog, {})) {
      outbox_.push_back(Outgoing{id, std::move(message), {}, 0});
    }
  }
  auto suspended = std::move(suspended_);
  suspended_.clear();
  for (const auto& [name, client] : suspended) {
    Group& group = groups_.at(name);
    group.resume(client);
    dispatch(group);
  }
  for (auto& [id, client] : clients_) {
    auto stale = std::move(client.stale_groups);
    client.stale_groups.clear();
    for (const std::string& name : stale) {
      if (client.groups.count(name) != 0) deliver_last_value(id, groups_.at(name));
    }
  }
  forget_overflowed();
}

std::vector<Outgoing> BrokerCore::take_outbox() {
  std::vector<Outgoing> out;
  out.swap(outbox_);
  return out;
}

const Group* BrokerCore::group(const std::string& name) const {
  const auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : &it->second;
}

void BrokerCore::error(const ClientId& to, ErrorCode code, std::uint64_t seq, std::string group, std::string text) {
  send(to, ErrorReply{code, seq, std::move(group), std::move(text)});
}

void BrokerCore::send(const ClientId& to, BrokerMessage&& message) {
  // Behind a backlog, a reply waits its turn: a PONG must not overtake an earlier ERROR.
  if (auto client = clients_.find(to); client != clients_.end() && !client->second.backlog.empty()) {
    client->second.backlog.push_back(std::move(message));
    if (client->second.backlog.size() == max_backlog + 1) overflowed_.push_back(to);  // not now: callers may be looping over members
    return;
  }
  outbox_.push_back(Outgoing{to, std::move(message), {}, 0});
}

}  // namespace zrelay::broker
