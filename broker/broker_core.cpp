#include "broker/broker_core.hpp"

#include <fnmatch.h>

#include <algorithm>

#include "broker/stats_json.hpp"
#include "protocol/limits.hpp"

namespace zrelay::broker {

using namespace protocol;

namespace {

// A name a client chose, fit for a log line: at most 64 bytes, control bytes as '?'.
std::string printable(std::string_view name) {
  std::string text(name.substr(0, 64));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  }
  return name.size() > 64 ? text + "..." : text;
}

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0; });
}

}  // namespace

BrokerCore::BrokerCore(BrokerLimits limits, std::string version, std::uint64_t instance)
    : limits_(std::move(limits)), version_(std::move(version)), instance_(instance) {}

void BrokerCore::set_access(std::shared_ptr<const auth::AllowList> keys, auth::AccessPolicy policy) {
  keys_ = std::move(keys);
  policy_ = std::move(policy);
  std::vector<ClientId> revoked;
  for (auto& [id, client] : clients_) {
    auto identity = identify(client.user_id);
    if (!identity) {
      revoked.push_back(id);
      continue;
    }
    client.identity = std::move(*identity);
    recheck_rights(id, client);
  }
  for (const ClientId& id : revoked) {
    log(LogEvent::Level::warning, describe(clients_.at(id)) + ": key no longer authorized, session ended");
    ++revoked_clients_;
    forget(id, GoodbyeReason::revoked);
  }
}

void BrokerCore::recheck_rights(const ClientId& id, Client& client) {
  const std::vector<std::string> groups(client.groups.begin(), client.groups.end());
  for (const std::string& name : groups) {
    if (!policy_.permits(client.identity, Action::join, name)) {
      leave(id, client, name);
      error(id, ErrorCode::not_authorized, 0, name, "no longer allowed to join this group: membership ended");
      log(LogEvent::Level::warning, describe(client) + ": may no longer join '" + name + "', removed");
    } else if (!policy_.permits(client.identity, Action::consume, name) && groups_.at(name).credits(id) > 0) {
      groups_.at(name).drop_credits(id);
      suspended_.erase({name, id});
      error(id, ErrorCode::not_authorized, 0, name, "no longer allowed to consume from this group: credits dropped");
      log(LogEvent::Level::warning, describe(client) + ": may no longer consume from '" + name + "', credits dropped");
    }
  }
}

std::optional<auth::Identity> BrokerCore::identify(const std::string& user_id) const {
  if (!keys_) return auth::Identity{user_id, user_id, {}};
  const auth::Identity* identity = keys_->identify(user_id);
  if (identity == nullptr) return std::nullopt;
  return *identity;
}

void BrokerCore::handle(const ClientId& from, const std::string& user_id, ClientMessage&& message) {
  auto it = clients_.find(from);
  if (it == clients_.end()) {
    auto identity = identify(user_id);
    if (!identity) {
      ++refused_not_authorized_;
      error(from, ErrorCode::not_authorized, 0, {}, "this key is not authorized (any more)");
      return;
    }
    if (!std::holds_alternative<Hello>(message)) {
      error(from, ErrorCode::hello_expected, 0, {}, "send HELLO first");
      return;
    }
    closing_.erase(from);
    it = clients_.emplace(from, Client{}).first;
    it->second.backlog.charge_to(overhead_);
    it->second.user_id = user_id;
    it->second.identity = std::move(*identity);
    it->second.since = now_;
  } else if (it->second.user_id != user_id) {
    // Cannot happen with libzmq's own routing ids; refuse rather than trust the routing id.
    error(from, ErrorCode::not_authorized, 0, {}, "message authenticated as another key");
    return;
  }
  it->second.last_seen = now_;
  ++it->second.messages_in;
  if (refused_unchunked(from, message)) return;
  std::visit([&](auto&& m) { on(from, it->second, std::move(m)); }, std::move(message));
  forget_overflowed();
}

bool BrokerCore::refused_unchunked(const ClientId& from, const ClientMessage& message) {
  const auto object = object_view(message);
  if (!object || object->payload.size() <= chunk_size) return false;
  error(from, ErrorCode::invalid_argument, object->seq, object->group, "an object over 1 MiB travels in chunks (BEGIN, then CHUNKs)");
  return true;
}

void BrokerCore::forget_overflowed() {
  for (const ClientId& client : std::exchange(overflowed_, {})) {
    if (clients_.count(client) == 0) continue;
    ++overflowed_clients_;
    log(LogEvent::Level::warning, describe(clients_.at(client)) + ": left over " + std::to_string(max_backlog) +
                                      " replies unread, session forgotten");
    forget(client, GoodbyeReason::overflowed);
  }
}

void BrokerCore::reject(const ClientId& from, const Error& failure, const std::string& user_id) {
  ++malformed_messages_;
  const auto it = clients_.find(from);
  if (it != clients_.end()) it->second.last_seen = now_;
  const std::string who = it != clients_.end() ? describe(it->second)
                          : user_id.empty()    ? std::string("an unauthenticated peer")
                                               : "key " + user_id;
  log(LogEvent::Level::warning, "refused a message from " + who + ": " + failure.what());
  error(from, failure.code(), 0, {}, failure.what());
}

void BrokerCore::on(const ClientId& from, Client& client, Hello&& m) {
  // A HELLO in an open session is answered again but changes nothing: the name in the logs is
  // the one the session opened with.
  if (client.messages_in == 1) {
    client.name = std::move(m.name);
    client.endpoint = m.endpoint_id;
    if (m.endpoint_id != EndpointId{}) {
      ProducerTable::Key key{client.user_id, m.endpoint_id};
      if (producers_.attach(key, budget_has_room(ProducerTable::entry_cost))) client.producer = std::move(key);
    }
    log(LogEvent::Level::info, describe(client) + ": session opened");
  }
  send(from, Welcome{limits_.max_message_size, version_, instance_,
                     static_cast<std::uint32_t>(limits_.heartbeat.count()),
                     static_cast<std::uint32_t>(limits_.liveness.count())});
}

void BrokerCore::on(const ClientId& from, Client& client, Join&& m) {
  if (!permitted(from, client, Action::join, m.group, 0)) return;
  Group* group = find_or_create(from, m.group, 0);
  if (group == nullptr) return;
  if (!group->has_member(from)) {
    if (group->full()) {
      error(from, ErrorCode::group_full, 0, m.group,
            "group has its maximum of " + std::to_string(group->options().max_count) + " members");
      return;
    }
    if (!membership_fits()) {
      ++refused_over_budget_;
      error(from, ErrorCode::over_budget, 0, m.group, "the broker's memory budget is used up: JOIN refused");
      return;
    }
    group->add_member(from);
    client.groups.insert(m.group);
    charge_memberships(client);
  }
  send(from, Joined{m.group});
  deliver_last_value(from, *group);
}

void BrokerCore::on(const ClientId& from, Client& client, Leave&& m) {
  if (client.groups.count(m.group) == 0) {
    error(from, ErrorCode::not_member, 0, m.group, "not a member of this group");
    return;
  }
  leave(from, client, m.group);
  send(from, Left{m.group});
}

void BrokerCore::charge_memberships(Client& client) const {
  client.memberships = overhead_.charge(membership_cost * client.groups.size());
}

void BrokerCore::leave(const ClientId& id, Client& client, const std::string& name) {
  if (const auto aborted = client.streams.drop_group(name)) send(id, Abort{*aborted});
  client.groups.erase(name);
  charge_memberships(client);
  Group& group = groups_.at(name);
  group.remove_member(id);
  suspended_.erase({name, id});
  return_held(client, &name);
  dispatch(group);
}

bool BrokerCore::permitted(const ClientId& from, const Client& client, Action action, const std::string& group,
                           std::uint64_t seq) {
  if (policy_.permits(client.identity, action, group)) return true;
  ++refused_not_authorized_;
  const std::string what = std::string(to_string(action)) + (action == Action::stats ? "" : " on '" + group + "'");
  error(from, ErrorCode::not_authorized, seq, action == Action::stats ? std::string() : group,
        "not allowed: " + what);
  log(LogEvent::Level::info, describe(client) + ": refused " + what + " (not allowed)");
  return false;
}

bool BrokerCore::budget_has_room(std::uint64_t bytes) const noexcept {
  return account_.bytes() + overhead_.bytes() + bytes <= limits_.max_payload_bytes;
}

bool BrokerCore::membership_fits() const noexcept {
  return account_.bytes() + overhead_.bytes() + membership_cost <= limits_.max_payload_bytes + membership_headroom();
}

std::uint64_t BrokerCore::membership_headroom() const noexcept {
  return std::max<std::uint64_t>(limits_.max_payload_bytes / 16, 64 * 1024);
}

bool BrokerCore::fits_budget(const ClientId& from, std::size_t size, std::uint64_t seq, Group& group) {
  if (budget_has_room(size)) return true;
  ++refused_over_budget_;
  ++group.stats.refused;
  error(from, ErrorCode::over_budget, seq, group.name(),
        "the broker holds its maximum of " + std::to_string(limits_.max_payload_bytes) +
            " bytes of payloads and item overhead: refused (retry once consumers catch up)");
  return false;
}

bool BrokerCore::fits_store(const ClientId& from, std::uint64_t size, std::uint32_t copies, std::uint64_t seq,
                            Group& group) {
  if (!group.options().durable) return true;
  if (size * copies > limits_.max_message_size) {  // each copy is stored (and loaded at start) on its own
    ++group.stats.refused;
    error(from, ErrorCode::too_large, seq, group.name(),
          "a durable group stores each copy: copies x size over the broker's max_message_size");
    return false;
  }
  if (durable_.fits(size, copies)) return true;
  ++refused_storage_;
  ++group.stats.refused;
  error(from, ErrorCode::storage_failed, seq, group.name(),
        "the store of durable groups is full (max_store_bytes " + std::to_string(durable_.max_bytes()) +
            ", or its disk): refused, not stored (retry once consumers catch up or space returns)");
  return false;
}

void BrokerCore::restore(StoredState&& state) {
  durable_.restored(state);
  for (StoredGroup& stored : state.groups) {
    GroupOptions options = stored.options;
    if (const GroupOptions* accepted = accepted_group(options.name)) {
      options = *accepted;  // today's settings win
    } else if (!limits_.accepted_groups.empty()) {
      throw Error(ErrorCode::configuration, "the store holds group '" + printable(options.name) +
                                                "', which the configuration does not accept: accept it again to drain it, "
                                                "or start on another data directory");
    }
    options.durable = true;  // a group stays durable while its store holds it
    Group& group = groups_.insert_or_assign(options.name, Group(options)).first->second;
    std::vector<zmq::message_t> payloads = restored_payloads(stored.items);
    for (std::size_t i = stored.items.size(); i-- > 0;) {  // the queue's order, whatever its bound now
      StoredItem& item = stored.items[i];
      next_delivery_id_ = std::max(next_delivery_id_, item.id + 1);
      group.push_front(QueuedItem{std::move(payloads[i]), {}, item.object.seq, item.id,
                                  item.attempts, overhead_.charge(item_cost), item.object});
    }
    if (stored.last_value) {
      zmq::message_t payload = account_.track(std::move(stored.last_value->second));
      group.set_last_value(payload, stored.last_value->first);
    }
  }
  for (const store_op::PutProducer& p : state.producers) {
    producers_.restore({p.key.user_id, p.key.endpoint}, p.seqs, p.uploading, now_);
  }
}

std::vector<zmq::message_t> BrokerCore::restored_payloads(std::vector<StoredItem>& items) {
  // Copies of one PRODUCE come back sharing a buffer (DurableStore::load): counted once, as
  // when they were produced.
  std::vector<const void*> buffers;
  for (const StoredItem& item : items) buffers.push_back(item.payload.size() > 0 ? item.payload.data() : nullptr);
  std::vector<zmq::message_t> payloads;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const bool same = i > 0 && buffers[i] != nullptr && buffers[i] == buffers[i - 1];
    payloads.push_back(same ? share(payloads.back()) : account_.track(std::move(items[i].payload)));
  }
  return payloads;
}

void BrokerCore::remember_refusal(const ProducerTable::Key& producer, const ErrorReply& reply, bool keep_applied) {
  if (!keep_applied) {
    // Refused whole: nothing of it was applied, so a resend is judged again (it may fit now)
    // instead of being answered from memory, which would hold budget for what holds nothing.
    producers_.unapply(producer, reply.seq);
  } else if (budget_has_room(ProducerTable::refusal_cost)) {
    producers_.refused(producer, reply);
  }
}

bool BrokerCore::seen_before(const ClientId& from, const Client& client, std::uint64_t seq) {
  if (!client.producer) return false;
  if (auto answers = producers_.seen(*client.producer, seq)) {
    for (protocol::ErrorReply& reply : *answers) send(from, std::move(reply));
    return true;
  }
  producers_.applied(*client.producer, seq);
  return false;
}

void BrokerCore::on(const ClientId& from, Client& client, Broadcast&& m) {
  if (seen_before(from, client, m.seq)) return;
  // A refused broadcast stays "applied": judged again later, it could replace a newer value of
  // the same producer that came in between.
  handling_ = Handling{from, m.seq, client.producer ? &*client.producer : nullptr, true};
  on_new(from, client, std::move(m));
  handling_.reset();
}

void BrokerCore::on_new(const ClientId& from, Client& client, Broadcast&& m) {
  if (!permitted(from, client, Action::broadcast, m.group, m.seq)) return;
  if (m.payload.size() > limits_.max_message_size) {
    error(from, ErrorCode::too_large, m.seq, m.group, "payload over the broker's max_message_size");
    return;
  }
  Group* group = find_or_create(from, m.group, m.seq);
  if (group == nullptr || !fits_budget(from, m.payload.size(), m.seq, *group) ||
      !fits_store(from, m.payload.size(), 1, m.seq, *group)) {
    return;
  }
  ++group->stats.broadcasts;
  zmq::message_t payload = account_.track(std::move(m.payload));
  const ObjectId object{client.endpoint, m.seq, 0};
  if (group->options().durable) {
    durable_.last_value(group->name(), object, payload, group->last_value_size().value_or(0), group->last_value_size().has_value());
    if (client.producer) durable_.applied(*client.producer, m.seq);
  }
  group->set_last_value(payload, object);
  for (const ClientId& member : group->members()) deliver_last_value(member, *group);
}

void BrokerCore::on(const ClientId& from, Client& client, Produce&& m) {
  if (seen_before(from, client, m.seq)) return;
  handling_ = Handling{from, m.seq, client.producer ? &*client.producer : nullptr};
  on_new(from, client, std::move(m));
  handling_.reset();
}

void BrokerCore::on_new(const ClientId& from, Client& client, Produce&& m) {
  if (!permitted(from, client, Action::produce, m.group, m.seq)) return;
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
  if (!fits_budget(from, m.payload.size() + m.copies * item_cost, m.seq, *group) ||
      !fits_store(from, m.payload.size(), m.copies, m.seq, *group)) {
    group->stats.refused += m.copies - 1;  // one was counted
    return;
  }
  const bool durable = group->options().durable;
  zmq::message_t payload = account_.track(std::move(m.payload));
  std::uint32_t refused = 0;
  Drops drops;  // one item_dropped per object whose items this PRODUCE pushed out, with a count
  for (std::uint32_t i = 0; i < m.copies; ++i) {
    QueuedItem item{i + 1 == m.copies ? std::move(payload) : share(payload), from, m.seq, next_delivery_id_++, 0,
                    overhead_.charge(item_cost), ObjectId{client.endpoint, m.seq, i + 1}};
    if (group->queue_full() && group->options().overflow == Overflow::refuse) {
      refused = m.copies - i;
      group->stats.refused += refused;
      break;
    }
    if (durable) durable_.queued(group->name(), item);
    if (auto bounced = group->push(std::move(item))) {  // the oldest, pushed out
      if (durable) durable_.removed(group->name(), *bounced);
      ++group->stats.dropped;
      ++drops[{bounced->producer, bounced->seq}];
    }
    ++group->stats.produced;
    dispatch(*group);
  }
  notify_dropped(*group, drops);
  if (durable && refused < m.copies && client.producer) durable_.applied(*client.producer, m.seq);
  if (refused > 0) {
    if (handling_) handling_->keep_applied = refused < m.copies;  // some copies are queued
    error(from, ErrorCode::queue_full, m.seq, m.group,
          "queue full (max_consumables " + std::to_string(group->options().max_consumables) + "): refused " +
              std::to_string(refused) + " of " + std::to_string(m.copies) + " copies");
  }
}

void BrokerCore::on(const ClientId& from, Client& client, Begin&& m) {
  // Refusals that say nothing about the object (a client that breaks the protocol): no record,
  // nothing remembered for resends.
  const auto kept = std::count_if(client.uploads.begin(), client.uploads.end(), [](const auto& u) { return u.second.kept(); });
  const char* refusal = client.uploads.count(m.seq) != 0               ? "an upload of this seq is in progress"
                        : client.uploads.size() >= max_upload_records ? "too many uploads in progress"
                        : static_cast<std::size_t>(kept) >= max_uploads ? "at most 4 uploads at once"
                        : m.size <= chunk_size ? "an object of up to 1 MiB travels in one message"
                                               : nullptr;
  if (refusal != nullptr) {
    error(from, ErrorCode::invalid_argument, m.seq, m.group, refusal);
    return;
  }
  if (client.producer) {
    if (auto answers = producers_.seen(*client.producer, m.seq)) {  // a resend of what was handled
      for (ErrorReply& reply : *answers) send(from, std::move(reply));
      client.uploads.emplace(m.seq, Upload::swallowed(std::move(m)));
      return;
    }
    producers_.applied(*client.producer, m.seq);  // so that a refusal is remembered as for a BROADCAST
  }
  // Judged now as the whole object would be: refused, it stays refused for resends as a
  // BROADCAST or PRODUCE would; accepted, it is applied only once complete (a lost upload is
  // sent again and judged again).
  handling_ = Handling{from, m.seq, client.producer ? &*client.producer : nullptr, m.kind == Kind::broadcast};
  const bool acceptable = upload_acceptable(from, client, m);
  handling_.reset();
  if (!acceptable) {
    client.uploads.emplace(m.seq, Upload::swallowed(std::move(m)));
    return;
  }
  if (client.producer) {
    producers_.uploading(*client.producer, m.seq);
    // Kept across a restart too: newer seqs may take the window past it while it uploads.
    if (groups_.at(m.group).options().durable) durable_.uploading(*client.producer, m.seq);
  }
  // What the object will be judged on when complete: reserved, so that it still fits then.
  const std::uint64_t cost = m.size + (m.kind == Kind::produced ? m.copies * item_cost : 0);
  client.uploads.emplace(m.seq, Upload(std::move(m), account_.charge(cost)));
}

bool BrokerCore::upload_acceptable(const ClientId& from, Client& client, const Begin& m) {
  const bool produce = m.kind == Kind::produced;
  if (!permitted(from, client, produce ? Action::produce : Action::broadcast, m.group, m.seq)) return false;
  const auto refuse = [&](ErrorCode code, const std::string& text) {
    error(from, code, m.seq, m.group, text);
    return false;
  };
  if (m.size > limits_.max_message_size) return refuse(ErrorCode::too_large, "object over the broker's max_message_size");
  if (produce ? (m.copies == 0 || m.copies > max_copies) : m.copies != 1) {
    return refuse(ErrorCode::invalid_argument, produce ? "copies must be 1..65535" : "a broadcast has copies 1");
  }
  Group* group = find_or_create(from, m.group, m.seq);
  if (group == nullptr) return false;
  if (!fits_budget(from, m.size + (produce ? m.copies * item_cost : 0), m.seq, *group) ||
      !fits_store(from, m.size, m.copies, m.seq, *group)) {
    if (produce) group->stats.refused += m.copies - 1;  // one was counted
    return false;
  }
  return true;
}

void BrokerCore::on(const ClientId& from, Client& client, Chunk&& m) {
  const auto it = client.uploads.find(m.seq);
  if (it == client.uploads.end()) {
    error(from, ErrorCode::invalid_argument, m.seq, {}, "CHUNK of no upload in progress (BEGIN first)");
    return;
  }
  if (!it->second.append(m)) {
    const std::string group = it->second.header().group;
    client.uploads.erase(it);  // not applied: sent again, it is judged again
    error(from, ErrorCode::malformed_message, m.seq, group, "CHUNK out of order or past the object's size: upload dropped");
    return;
  }
  if (!it->second.complete()) return;
  Upload upload = std::move(it->second);
  client.uploads.erase(it);
  if (upload.kept()) apply_upload(from, client, std::move(upload));
}

void BrokerCore::apply_upload(const ClientId& from, Client& client, Upload&& upload) {
  // Judged for duplicates at BEGIN already: applied now, whatever seqs came since.
  const std::uint64_t seq = upload.header().seq;
  if (client.producer) producers_.uploaded(*client.producer, seq);
  handling_ = Handling{from, seq, client.producer ? &*client.producer : nullptr, upload.header().kind == Kind::broadcast};
  ClientMessage whole = upload.take();  // its reservation ends: the object is judged on the same cost now
  if (auto* broadcast = std::get_if<Broadcast>(&whole)) {
    on_new(from, client, std::move(*broadcast));
  } else {
    on_new(from, client, std::move(std::get<Produce>(whole)));
  }
  handling_.reset();
}

void BrokerCore::on(const ClientId& from, Client& client, Ready&& m) {
  if (client.groups.count(m.group) == 0) {
    error(from, ErrorCode::not_member, 0, m.group, "READY for a group this client has not joined");
    return;
  }
  if (!permitted(from, client, Action::consume, m.group, 0)) return;
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
  // Every item queued now; what its connection cannot take yet becomes credits, sent after a tick.
  std::int64_t owed = static_cast<std::int64_t>(group.queue_size());
  for (; owed > 0 && !takes_no_items(client); --owed) deliver_produced(from, group, std::move(*group.pop()));
  if (owed > 0) {
    group.add_credits(from, owed);
    group.suspend(from);
    suspended_.insert({m.group, from});
  }
}

void BrokerCore::on(const ClientId& from, Client&, Ping&& m) { send(from, Pong{m.token}); }

void BrokerCore::on(const ClientId& from, Client& client, Ack&& m) {
  const bool was_at_bound = client.held.size() >= limits_.max_client_unacked;
  for (const std::uint64_t id : m.delivery_ids) {
    const auto held = client.held.find(id);
    if (held == client.held.end()) {
      ++late_acks_;  // delivered again elsewhere, or never ours: nothing to do
      continue;
    }
    if (auto group = groups_.find(held->second.group); group != groups_.end()) {
      ++group->second.stats.acked;
      if (group->second.options().durable) durable_.removed(group->first, held->second.item);
    }
    client.held.erase(held);
  }
  if (was_at_bound && !takes_no_items(client)) resume_groups(from, client);
}

void BrokerCore::resume_groups(const ClientId& id, const Client& client) {
  for (const std::string& name : client.groups) {
    if (suspended_.erase({name, id}) == 0) continue;
    Group& group = groups_.at(name);
    group.resume(id);
    dispatch(group);
  }
}

void BrokerCore::on(const ClientId& from, Client& client, Stats&& m) {
  if (!permitted(from, client, Action::stats, {}, m.seq)) return;
  send(from, StatsReply{m.seq, statistics_json()});
}

void BrokerCore::on(const ClientId& from, Client& client, Bye&&) {
  log(LogEvent::Level::info, describe(client) + ": session closed (BYE)");
  Closing closing{std::move(client.backlog), now_};
  forget(from, std::nullopt);
  // GOODBYE goes after the replies still waiting. The record stays until GOODBYE went out
  // (a refused one comes back through undeliverable()) or the peer is gone.
  if (closing.backlog.empty()) {
    outbox_.push_back(Outgoing{from, Goodbye{GoodbyeReason::bye}, {}, 0});
  } else {
    closing.backlog.push_back(Goodbye{GoodbyeReason::bye});
  }
  closing_.insert_or_assign(from, std::move(closing));
}

const GroupOptions* BrokerCore::accepted_group(const std::string& name) const {
  const auto it = std::find_if(limits_.accepted_groups.begin(), limits_.accepted_groups.end(),
                               [&](const GroupOptions& g) { return g.name == name; });
  return it == limits_.accepted_groups.end() ? nullptr : &*it;
}

Group* BrokerCore::find_or_create(const ClientId& from, const std::string& name, std::uint64_t seq) {
  if (auto it = groups_.find(name); it != groups_.end()) return &it->second;
  GroupOptions options;
  if (limits_.accepted_groups.empty()) {
    options = limits_.default_group;
  } else {
    const GroupOptions* accepted = accepted_group(name);
    if (accepted == nullptr) {
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
  options.durable = options.durable || matches_any(limits_.durable_groups, name);
  if (options.durable) durable_.created(options);
  return &groups_.emplace(name, Group(std::move(options))).first->second;
}

void BrokerCore::forget(const ClientId& client, std::optional<GoodbyeReason> reason) {
  const auto it = clients_.find(client);
  if (it == clients_.end()) return;
  return_held(it->second, nullptr);
  if (it->second.producer) producers_.detach(*it->second.producer, now_);
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
  std::vector<Held> back;
  for (auto it = client.held.begin(); it != client.held.end();) {
    if (only_group != nullptr && it->second.group != *only_group) {
      ++it;
      continue;
    }
    back.push_back(std::move(it->second));
    it = client.held.erase(it);
  }
  // Last delivered first: each goes to the head, so they end up in delivery order before anything newer.
  std::sort(back.begin(), back.end(), [](const Held& a, const Held& b) { return a.order > b.order; });
  for (Held& held : back) {
    if (auto group = groups_.find(held.group); group != groups_.end()) {
      ++group->second.stats.redelivered;
      group->second.push_front(std::move(held.item));
    }
  }
}

void BrokerCore::dispatch(Group& group) {
  while (group.queue_size() > 0) {
    auto to = group.take_credit();
    if (!to) return;
    auto client = clients_.find(*to);
    if (client != clients_.end() && takes_no_items(client->second)) {
      // Its connection is behind, or it holds its bound of unacknowledged items: the item waits
      // for another consumer, or for it after a tick (or an ACK).
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
  return (pending > 0 && pending >= limits_.max_client_pending_bytes) ||
         client.pending.buffers() >= limits_.max_client_pending_messages;
}

bool BrokerCore::takes_no_items(const Client& client) const noexcept {
  return over_pending_limit(client) || client.held.size() >= limits_.max_client_unacked;
}

zmq::message_t BrokerCore::delivery_payload(Client& client, zmq::message_t& payload) const {
  zmq::message_t shared = share(payload);
  if (shared.size() <= protocol::max_inline_payload) shared = overhead_.track(std::move(shared));  // its copy
  return client.pending.track(std::move(shared));
}

void BrokerCore::deliver_produced(const ClientId& to, Group& group, QueuedItem&& item) {
  ++group.stats.delivered;
  ++item.attempts;
  if (group.options().durable) durable_.delivered(group.name(), item);
  auto client = clients_.find(to);
  // Large items stream; an item of a group with an object streaming or waiting there waits too (FIFO).
  const bool streamed = client != clients_.end() &&
                        (item.payload.size() > chunk_size || client->second.streams.involves(group.name()));
  zmq::message_t payload = client != clients_.end() && !streamed ? delivery_payload(client->second, item.payload) : share(item.payload);
  Deliver deliver{group.name(), Kind::produced, item.id, item.attempts, std::move(payload), item.object};
  if (client != clients_.end()) {
    ++client->second.deliveries_out;
    client->second.held.insert_or_assign(
        item.id, Held{group.name(),
                      QueuedItem{share(item.payload), item.producer, item.seq, item.id, item.attempts,
                                 overhead_.charge(item_cost), item.object},
                      ++handed_out_});
  }
  if (!streamed) {
    outbox_.push_back(Outgoing{to, std::move(deliver), std::move(item.producer), item.seq});
    return;
  }
  client->second.streams.push_item(std::move(deliver));  // one object at a time, chunk by chunk, from the one copy
  pump_stream(to, client->second);
}

void BrokerCore::deliver_last_value(const ClientId& to, Group& group) {
  if (group.last_value() == nullptr) return;
  auto client = clients_.find(to);
  if (client == clients_.end()) return;
  Client& member = client->second;
  if (streamed(member, group)) {
    if (!member.streams.push_last_value(group.name())) ++group.stats.broadcasts_skipped;
    pump_stream(to, member);
    return;
  }
  if (member.backlog.empty() && !over_pending_limit(member)) {
    outbox_.push_back(last_value_delivery(to, member, group));
    return;
  }
  // Broadcast is a last value: behind other replies or a connection that is behind, the member
  // gets the newest one in this place; a value replaced while waiting is skipped.
  if (!member.backlog.push_back_last_value(group.name())) ++group.stats.broadcasts_skipped;
  note_backlog(to, member);
}

Outgoing BrokerCore::last_value_delivery(const ClientId& to, Client& client, Group& group) {
  Deliver deliver = last_value_deliver(client, group);
  deliver.payload = delivery_payload(client, deliver.payload);
  return Outgoing{to, std::move(deliver), {}, 0};
}

Deliver BrokerCore::last_value_deliver(Client& client, Group& group) {
  ++client.deliveries_out;
  ++group.stats.broadcast_deliveries;
  return Deliver{group.name(), Kind::broadcast, next_delivery_id_++, 1, share(*group.last_value()), group.last_value_object()};
}

bool BrokerCore::streamed(const Client& client, const Group& group) {
  return client.streams.involves(group.name()) || group.last_value_size().value_or(0) > chunk_size;
}

std::optional<Deliver> BrokerCore::resolve(Client& client, DeliveryStreams::Waiting&& waiting) {
  if (waiting.deliver) return std::move(*waiting.deliver);
  if (client.groups.count(waiting.group) == 0) return std::nullopt;
  Group& group = groups_.at(waiting.group);
  if (group.last_value() == nullptr) return std::nullopt;
  return last_value_deliver(client, group);
}

void BrokerCore::pump_stream(const ClientId& id, Client& client) {
  if (!client.backlog.empty()) return;  // behind: the backlog goes first (flush_backlog pumps after it)
  for (;;) {
    if (client.streams.all_sent()) client.streams.finish();
    if (!client.streams.streaming()) {
      auto waiting = client.streams.take_waiting();
      if (!waiting) return;
      auto deliver = resolve(client, std::move(*waiting));
      if (!deliver) continue;
      if (deliver->payload.size() <= chunk_size) {  // an item that waited behind a large one, or a small last value
        deliver->payload = delivery_payload(client, deliver->payload);
        outbox_.push_back(Outgoing{id, std::move(*deliver), {}, 0});
        continue;
      }
      client.streams.start(std::move(*deliver));
      client.stream_progress = now_;
    }
    if (client.streams.held_back()) return;  // the socket refused a chunk: until the next tick
    while (!client.streams.all_sent()) {
      if (client.pending.bytes() >= stream_window) return;  // the next when the connection took these
      BrokerMessage next = client.streams.next(stream_wakeup_);
      if (auto* chunk = std::get_if<DeliverChunk>(&next)) chunk->data = client.pending.track(std::move(chunk->data));
      outbox_.push_back(Outgoing{id, std::move(next), {}, 0});
      client.stream_progress = now_;
    }
    // Finished at the next pump, once the socket took the last chunk (a refused one is sent
    // again from the stream, and the group's next deliveries wait until then).
    return;
  }
}

void BrokerCore::pump_streams() {
  for (auto& [id, client] : clients_) {
    if (!client.streams.idle()) pump_stream(id, client);
  }
}

bool BrokerCore::give_back_stream(const ClientId& id, const BrokerMessage& message) {
  if (!std::holds_alternative<DeliverBegin>(message) && !std::holds_alternative<DeliverChunk>(message)) return false;
  const auto client = clients_.find(id);
  return client != clients_.end() && client->second.streams.give_back(message);
}

void BrokerCore::notify_dropped(const Group& group, const Drops& drops) {
  for (const auto& [object, count] : drops) {
    const auto producer = clients_.find(object.first);
    if (producer == clients_.end()) continue;
    ErrorReply reply{ErrorCode::item_dropped, object.second, group.name(),
                     "queue full (max_consumables " + std::to_string(group.options().max_consumables) + "): " +
                         std::to_string(count) + (count == 1 ? " item" : " items") +
                         " of this object dropped for newer ones"};
    // A resend hears it too, if the budget has room to remember it.
    if (producer->second.producer && budget_has_room(ProducerTable::refusal_cost)) {
      producers_.refused(*producer->second.producer, reply);
    }
    send(object.first, std::move(reply));
  }
}

void BrokerCore::undeliverable(std::vector<Undelivered>&& failed) {
  // Items first, while their holders are still known, so an item that never left keeps its
  // attempt count. Each goes back to the head of its queue: last first keeps them in order.
  std::set<Group*> requeued;
  for (auto it = failed.rbegin(); it != failed.rend(); ++it) {
    const auto* deliver = std::get_if<Deliver>(&it->out.message);
    if (deliver != nullptr && deliver->kind == Kind::produced) {
      if (Group* group = requeue(std::move(it->out), it->peer_gone)) requeued.insert(group);
    }
  }
  // Then the gone peers: what they still hold was delivered earlier and goes in front.
  std::map<ClientId, std::vector<BrokerMessage>> refused;
  for (auto& f : failed) {
    if (f.peer_gone) {
      forget(f.out.to, std::nullopt);
      closing_.erase(f.out.to);
      continue;
    }
    ++refused_sends_;
    if (give_back_stream(f.out.to, f.out.message)) continue;  // sent again from there by pump_stream
    const auto* deliver = std::get_if<Deliver>(&f.out.message);
    if (deliver == nullptr || deliver->kind != Kind::produced) refused[f.out.to].push_back(std::move(f.out.message));
  }
  for (auto& [id, messages] : refused) wait_again(id, std::move(messages));
  for (Group* group : requeued) dispatch(*group);
  forget_overflowed();
}

void BrokerCore::wait_again(const ClientId& id, std::vector<BrokerMessage>&& refused) {
  if (auto closing = closing_.find(id); closing != closing_.end()) {
    closing->second.backlog.push_front(std::move(refused));
  } else if (auto client = clients_.find(id); client != clients_.end()) {
    client->second.backlog.push_front(std::move(refused));
    note_backlog(id, client->second);
  }
}

void BrokerCore::note_backlog(const ClientId& id, const Client& client) {
  // Not forgotten now: callers may be looping over members.
  if (client.backlog.size() > max_backlog) overflowed_.push_back(id);
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
  if (group.options().durable) durable_.delivered(group.name(), item);
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
  for (auto& [id, client] : clients_) client.streams.release_hold();
  expire_silent();
  expire_stalled();
  producers_.expire(now_);
  durable_.expire_producers(producers_);
  retry_closing();
  for (auto& [id, client] : clients_) flush_backlog(id, &client, client.backlog);
  auto suspended = std::move(suspended_);
  suspended_.clear();
  for (const auto& [name, client] : suspended) {
    Group& group = groups_.at(name);
    group.resume(client);
    dispatch(group);
  }
  forget_overflowed();
}

void BrokerCore::connection_closed(const ClientId& client) {
  closing_.erase(client);  // its GOODBYE cannot reach it any more
  const auto it = clients_.find(client);
  if (it == clients_.end()) return;
  ++disconnected_clients_;
  log(LogEvent::Level::info, describe(it->second) + ": connection closed, session forgotten");
  forget(client, std::nullopt);
}

void BrokerCore::expire_silent() {
  std::vector<ClientId> silent;
  for (const auto& [id, client] : clients_) {
    if (now_ - client.last_seen > limits_.liveness) silent.push_back(id);
  }
  for (const ClientId& id : silent) {
    ++expired_clients_;
    log(LogEvent::Level::warning, describe(clients_.at(id)) + ": silent for over " +
                                      std::to_string(limits_.liveness.count()) + " ms, session forgotten");
    forget(id, GoodbyeReason::expired);
  }
}

void BrokerCore::expire_stalled() {
  std::vector<ClientId> stalled;
  for (const auto& [id, client] : clients_) {
    if (client.streams.streaming() && now_ - client.stream_progress > stalled_stream_limit()) stalled.push_back(id);
  }
  for (const ClientId& id : stalled) {
    ++overflowed_clients_;
    log(LogEvent::Level::warning, describe(clients_.at(id)) + ": took no chunk of a large object for " +
                                      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(stalled_stream_limit()).count()) +
                                      " s, session forgotten");
    forget(id, GoodbyeReason::overflowed);
  }
}

void BrokerCore::retry_closing() {
  for (auto it = closing_.begin(); it != closing_.end();) {
    // Empty: GOODBYE went out at an earlier flush and was not refused. A peer that does not
    // read for the liveness window is not waited for any longer.
    if (it->second.backlog.empty() || now_ - it->second.since > limits_.liveness) {
      it = closing_.erase(it);
      continue;
    }
    flush_backlog(it->first, nullptr, it->second.backlog);
    ++it;
  }
}

void BrokerCore::flush_backlog(const ClientId& id, Client* client, Backlog& backlog) {
  while (!backlog.empty()) {
    if (!backlog.front().message && client != nullptr && over_pending_limit(*client)) return;
    Waiting next = backlog.take_front();
    if (next.message) {
      outbox_.push_back(Outgoing{id, std::move(*next.message), {}, 0});
    } else if (client != nullptr && client->groups.count(next.group) != 0) {
      Group& group = groups_.at(next.group);
      if (!streamed(*client, group)) {
        outbox_.push_back(last_value_delivery(id, *client, group));
      } else if (!client->streams.push_last_value(group.name())) {
        ++group.stats.broadcasts_skipped;
      }
    }
  }
  if (client != nullptr) pump_stream(id, *client);
}

void BrokerCore::shutdown() {
  for (auto& [id, client] : clients_) {
    for (const std::string& name : client.groups) groups_.at(name).remove_member(id);
    client.backlog.push_back(Goodbye{GoodbyeReason::shutting_down});
    flush_backlog(id, nullptr, client.backlog);
  }
  for (auto& [id, closing] : closing_) flush_backlog(id, nullptr, closing.backlog);
  clients_.clear();
  closing_.clear();
  suspended_.clear();
}

std::vector<LogEvent> BrokerCore::take_log() {
  std::vector<LogEvent> out;
  out.swap(log_);
  return out;
}

void BrokerCore::log(LogEvent::Level level, std::string text) { log_.push_back(LogEvent{level, std::move(text)}); }

std::string BrokerCore::describe(const Client& client) {
  std::string text = "client '" + client.identity.name + "' (key " + client.identity.key;
  if (!client.name.empty()) text += ", HELLO name '" + printable(client.name) + "'";
  return text + ")";
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
  stats.overhead_bytes = overhead_.bytes();
  for (const auto& [id, closing] : closing_) stats.closing_backlog += closing.backlog.size();
  stats.expired_clients = expired_clients_;
  stats.disconnected_clients = disconnected_clients_;
  stats.remembered_producers = producers_.size();
  stats.producer_bytes = producers_.bytes();
  stats.overflowed_clients = overflowed_clients_;
  stats.late_acks = late_acks_;
  stats.refused_sends = refused_sends_;
  stats.refused_over_budget = refused_over_budget_;
  stats.refused_storage_failed = refused_storage_;
  stats.store_bytes = durable_.bytes();
  stats.malformed_messages = malformed_messages_;
  stats.refused_not_authorized = refused_not_authorized_;
  stats.revoked_clients = revoked_clients_;
  std::map<std::string, std::size_t> unacked;
  for (const auto& [id, client] : clients_) {
    for (const auto& [delivery, held] : client.held) ++unacked[held.group];
    stats.sessions.push_back(session_statistics(id, client));
  }
  for (const auto& [name, group] : groups_) stats.groups.push_back(group_statistics(group, unacked[name]));
  return stats;
}

GroupStatistics BrokerCore::group_statistics(const Group& group, std::size_t unacked) {
  const GroupStats& s = group.stats;
  GroupStatistics g{group.name(), group.members().size(), group.queue_size(), unacked, s.broadcasts, s.produced,
                    s.delivered, s.acked, s.redelivered, s.refused, s.dropped, s.broadcasts_skipped};
  g.broadcast_deliveries = s.broadcast_deliveries;
  g.has_last_value = group.last_value_size().has_value();
  g.last_value_bytes = group.last_value_size().value_or(0);
  g.credits = group.outstanding_credits();
  return g;
}

ClientStatistics BrokerCore::session_statistics(const ClientId& id, const Client& client) const {
  const auto ms = [](Clock::duration d) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
  };
  ClientStatistics c;
  c.name = client.identity.name;
  c.key = client.identity.key;
  c.hello_name = client.name;
  c.groups.assign(client.groups.begin(), client.groups.end());
  for (const std::string& group : client.groups) c.credits += groups_.at(group).credits(id);
  c.unacked = client.held.size();
  c.pending_bytes = client.pending.bytes();
  c.backlog = client.backlog.size();
  c.messages_in = client.messages_in;
  c.deliveries_out = client.deliveries_out;
  c.session_ms = ms(now_ - client.since);
  c.silent_ms = ms(now_ - client.last_seen);
  return c;
}

std::string BrokerCore::statistics_json() const { return to_json(statistics()); }

void BrokerCore::error(const ClientId& to, ErrorCode code, std::uint64_t seq, std::string group, std::string text) {
  ErrorReply reply{code, seq, std::move(group), std::move(text)};
  if (handling_ && handling_->producer != nullptr && handling_->from == to && handling_->seq == seq) {
    remember_refusal(*handling_->producer, reply, handling_->keep_applied);
  }
  send(to, std::move(reply));
}

void BrokerCore::send(const ClientId& to, BrokerMessage&& message) {
  // Behind a backlog, a reply waits its turn: a PONG must not overtake an earlier ERROR.
  if (auto client = clients_.find(to); client != clients_.end() && !client->second.backlog.empty()) {
    client->second.backlog.push_back(std::move(message));
    note_backlog(to, client->second);
    return;
  }
  if (auto closing = closing_.find(to); closing != closing_.end() && !closing->second.backlog.empty()) {
    if (closing->second.backlog.size() < max_backlog) closing->second.backlog.push_back(std::move(message));
    return;
  }
  outbox_.push_back(Outgoing{to, std::move(message), {}, 0});
}

}  // namespace zrelay::broker
