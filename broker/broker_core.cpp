#include "broker/broker_core.hpp"

#include <algorithm>

#include "protocol/limits.hpp"

namespace zrelay::broker {

using namespace protocol;

namespace {

zmq::message_t share(zmq::message_t& payload) {
  zmq::message_t copy;
  copy.copy(payload);  // shares the buffer of large payloads
  return copy;
}

}  // namespace

BrokerCore::BrokerCore(BrokerLimits limits, std::string version, std::uint64_t instance)
    : limits_(std::move(limits)), version_(std::move(version)), instance_(instance) {}

void BrokerCore::handle(const ClientId& from, const std::string& user_id, ClientMessage&& message) {
  auto it = clients_.find(from);
  if (it == clients_.end()) {
    if (!std::holds_alternative<Hello>(message)) {
      error(from, ErrorCode::hello_expected, 0, {}, "send HELLO first");
      return;
    }
    closing_.erase(from);
    it = clients_.emplace(from, Client{}).first;
    it->second.user_id = user_id;
  } else if (it->second.user_id != user_id) {
    // Cannot happen with libzmq's own routing ids; refuse rather than trust the routing id.
    error(from, ErrorCode::not_authorized, 0, {}, "message authenticated as another key");
    return;
  }
  it->second.last_seen = now_;
  std::visit([&](auto&& m) { on(from, it->second, std::move(m)); }, std::move(message));
  forget_overflowed();
}

void BrokerCore::forget_overflowed() {
  for (const ClientId& client : std::exchange(overflowed_, {})) {
    if (clients_.count(client) == 0) continue;
    ++overflowed_clients_;
    forget(client, GoodbyeReason::overflowed);
  }
}

void BrokerCore::reject(const ClientId& from, const Error& failure) {
  ++malformed_messages_;
  if (auto it = clients_.find(from); it != clients_.end()) it->second.last_seen = now_;
  error(from, failure.code(), 0, {}, failure.what());
}

void BrokerCore::on(const ClientId& from, Client& client, Hello&& m) {
  client.name = std::move(m.name);
  send(from, Welcome{limits_.max_message_size, version_, instance_,
                     static_cast<std::uint32_t>(limits_.heartbeat.count()),
                     static_cast<std::uint32_t>(limits_.liveness.count())});
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
  Group& group = groups_.at(m.group);
  group.remove_member(from);
  client.stale_groups.erase(m.group);
  suspended_.erase({m.group, from});
  return_held(client, &m.group);
  send(from, Left{m.group});
  dispatch(group);
}

bool BrokerCore::fits_budget(const ClientId& from, std::size_t size, std::uint64_t seq, Group& group) {
  if (account_.bytes() + size <= limits_.max_payload_bytes) return true;
  ++refused_over_budget_;
  ++group.stats.refused;
  error(from, ErrorCode::over_budget, seq, group.name(),
        "the broker holds its maximum of " + std::to_string(limits_.max_payload_bytes) +
            " payload bytes: refused (retry once consumers catch up)");
  return false;
}

void BrokerCore::on(const ClientId& from, Client&, Broadcast&& m) {
  if (m.payload.size() > limits_.max_message_size) {
    error(from, ErrorCode::too_large, m.seq, m.group, "payload over the broker's max_message_size");
    return;
  }
  Group* group = find_or_create(from, m.group, m.seq);
  if (group == nullptr || !fits_budget(from, m.payload.size(), m.seq, *group)) return;
  ++group->stats.broadcasts;
  zmq::message_t payload = account_.track(std::move(m.payload));
  group->set_last_value(payload);
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
  if (!fits_budget(from, m.payload.size(), m.seq, *group)) {
    group->stats.refused += m.copies - 1;  // fits_budget counted one
    return;
  }
  zmq::message_t payload = account_.track(std::move(m.payload));
  std::uint32_t refused = 0;
  for (std::uint32_t i = 0; i < m.copies; ++i) {
    QueuedItem item{i + 1 == m.copies ? std::move(payload) : share(payload), from, m.seq, next_delivery_id_++, 0};
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

void BrokerCore::on(const ClientId& from, Client& client, Ack&& m) {
  for (const std::uint64_t id : m.delivery_ids) {
    const auto held = client.held.find(id);
    if (held == client.held.end()) {
      ++late_acks_;  // delivered again elsewhere, or never ours: nothing to do
      continue;
    }
    if (auto group = groups_.find(held->second.group); group != groups_.end()) ++group->second.stats.acked;
    client.held.erase(held);
  }
}

void BrokerCore::on(const ClientId& from, Client& client, Bye&&) {
  auto backlog = std::move(client.backlog);
  forget(from, GoodbyeReason::bye);
  if (backlog.empty()) return;
  // Replies still waiting go first; GOODBYE, which forget() queued, after them.
  std::vector<BrokerMessage> goodbye;
  for (auto it = outbox_.begin(); it != outbox_.end(); ++it) {
    if (it->to == from && std::holds_alternative<Goodbye>(it->message)) {
      goodbye.push_back(std::move(it->message));
      outbox_.erase(it);
      break;
    }
  }
  for (auto& message : goodbye) backlog.push_back(std::move(message));
  closing_[from] = std::move(backlog);
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

void BrokerCore::forget(const ClientId& client, std::optional<GoodbyeReason> reason) {
  const auto it = clients_.find(client);
  if (it == clients_.end()) return;
  return_held(it->second, nullptr);
  for (const std::string& name : it->second.groups) {
    groups_.at(name).remove_member(client);
    suspended_.erase({name, client});
  }
  const auto groups = std::move(it->second.groups);
  clients_.erase(it);
  if (reason) outbox_.push_back(Outgoing{client, Goodbye{*reason}, {}, 0});  // best effort: a frozen peer may never read it
  for (const std::string& name : groups) dispatch(groups_.at(name));
}

void BrokerCore::return_held(Client& client, const std::string* only_group) {
  // Last first: each goes to the head, so they end up in delivery order before anything newer.
  for (auto it = client.held.rbegin(); it != client.held.rend();) {
    if (only_group != nullptr && it->second.group != *only_group) {
      ++it;
      continue;
    }
    if (auto group = groups_.find(it->second.group); group != groups_.end()) {
      ++group->second.stats.redelivered;
      group->second.push_front(std::move(it->second.item));
    }
    it = std::make_reverse_iterator(client.held.erase(std::next(it).base()));
  }
}

void BrokerCore::dispatch(Group& group) {
  while (group.queue_size() > 0) {
    auto to = group.take_credit();
    if (!to) return;
    auto client = clients_.find(*to);
    if (client != clients_.end() && over_pending_limit(client->second)) {
      // Its connection is behind: the item waits for another consumer, or for it after a tick.
      group.return_credit(*to);
      group.suspend(*to);
      suspended_.insert({group.name(), *to});
      continue;
    }
    deliver_produced(*to, group, std::move(*group.pop()));
  }
}

bool BrokerCore::over_pending_limit(const Client& client) const noexcept {
  const std::uint64_t pending = client.pending.bytes();
  return pending > 0 && pending >= limits_.max_client_pending_bytes;
}

void BrokerCore::deliver_produced(const ClientId& to, Group& group, QueuedItem&& item) {
  ++group.stats.delivered;
  ++item.attempts;
  auto client = clients_.find(to);
  zmq::message_t payload = share(item.payload);
  if (client != clients_.end()) {
    payload = client->second.pending.track(std::move(payload));
    client->second.held.insert_or_assign(item.id, Held{group.name(), QueuedItem{share(item.payload), item.producer,
                                                                                item.seq, item.id, item.attempts}});
  }
  outbox_.push_back(Outgoing{to, Deliver{group.name(), Kind::produced, item.id, item.attempts, std::move(payload)},
                             std::move(item.producer), item.seq});
}

void BrokerCore::deliver_last_value(const ClientId& to, Group& group) {
  zmq::message_t* value = group.last_value();
  if (value == nullptr) return;
  auto client = clients_.find(to);
  if (client != clients_.end() && over_pending_limit(client->second)) {
    // Broadcast is a last value: this member gets the newest one once its connection catches up.
    if (client->second.stale_groups.insert(group.name()).second) ++group.stats.broadcasts_skipped;
    return;
  }
  zmq::message_t payload = share(*value);
  if (client != clients_.end()) payload = client->second.pending.track(std::move(payload));
  send(to, Deliver{group.name(), Kind::broadcast, next_delivery_id_++, 1, std::move(payload)});
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
    if (f.peer_gone) forget(f.out.to, std::nullopt);
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
    if (f.peer_gone) continue;
    if (auto closing = closing_.find(f.out.to); closing != closing_.end()) {
      closing->second.push_back(std::move(f.out.message));
      continue;
    }
    auto client = clients_.find(f.out.to);
    if (client == clients_.end()) continue;
    if (const auto* deliver = std::get_if<Deliver>(&f.out.message)) {
      if (deliver->kind == Kind::broadcast) client->second.stale_groups.insert(deliver->group);
    } else {
      client->second.backlog.push_back(std::move(f.out.message));
      if (client->second.backlog.size() == max_backlog + 1) overflowed_.push_back(f.out.to);
    }
  }
  for (auto& f : failed) {
    if (f.peer_gone) closing_.erase(f.out.to);
  }
  forget_overflowed();
}

Group* BrokerCore::requeue(Outgoing&& out, bool peer_gone) {
  auto& deliver = std::get<Deliver>(out.message);
  auto client = clients_.find(out.to);
  if (client == clients_.end()) return nullptr;  // forget() has put its items back already
  auto held = client->second.held.find(deliver.delivery_id);
  if (held == client->second.held.end()) return nullptr;
  auto group_it = groups_.find(held->second.group);
  QueuedItem item = std::move(held->second.item);
  client->second.held.erase(held);
  if (group_it == groups_.end()) return nullptr;
  Group& group = group_it->second;
  --group.stats.delivered;
  --item.attempts;  // it never left
  group.push_front(std::move(item));
  if (!peer_gone) {
    // A credit for each item it could not take, also for items asked for with READY n < 0:
    // the client still gets that many items once it has room.
    group.return_credit(out.to);
    group.suspend(out.to);
    suspended_.insert({group.name(), out.to});
  }
  return &group;
}

void BrokerCore::tick(Clock::time_point now) {
  now_ = now;
  expire_silent();
  tick();
}

void BrokerCore::expire_silent() {
  std::vector<ClientId> silent;
  for (const auto& [id, client] : clients_) {
    if (now_ - client.last_seen > limits_.liveness) silent.push_back(id);
  }
  for (const ClientId& id : silent) {
    ++expired_clients_;
    forget(id, GoodbyeReason::expired);
  }
}

void BrokerCore::retry_backlogs() {
  for (auto& [id, client] : clients_) {
    for (auto& message : std::exchange(client.backlog, {})) outbox_.push_back(Outgoing{id, std::move(message), {}, 0});
  }
  for (auto& [id, backlog] : std::exchange(closing_, {})) {
    for (auto& message : backlog) outbox_.push_back(Outgoing{id, std::move(message), {}, 0});
  }
}

void BrokerCore::tick() {
  retry_backlogs();
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

void BrokerCore::shutdown() {
  std::vector<ClientId> ids;
  for (const auto& [id, client] : clients_) ids.push_back(id);
  for (const ClientId& id : ids) forget(id, GoodbyeReason::shutting_down);
  closing_.clear();
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

BrokerStatistics BrokerCore::statistics() const {
  BrokerStatistics stats;
  stats.clients = clients_.size();
  stats.payload_bytes = account_.bytes();
  stats.expired_clients = expired_clients_;
  stats.overflowed_clients = overflowed_clients_;
  stats.late_acks = late_acks_;
  stats.refused_over_budget = refused_over_budget_;
  stats.malformed_messages = malformed_messages_;
  std::map<std::string, std::size_t> unacked;
  for (const auto& [id, client] : clients_) {
    for (const auto& [delivery, held] : client.held) ++unacked[held.group];
  }
  for (const auto& [name, group] : groups_) {
    const GroupStats& s = group.stats;
    stats.groups.push_back(GroupStatistics{name, group.members().size(), group.queue_size(), unacked[name],
                                           s.broadcasts, s.produced, s.delivered, s.acked, s.redelivered,
                                           s.refused, s.dropped, s.broadcasts_skipped});
  }
  return stats;
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
