#include "endpoint/outbound_log.hpp"

#include <algorithm>
#include <utility>

#include "protocol/limits.hpp"

namespace zrelay::endpoint {

using namespace protocol;

namespace {

zmq::message_t share(const zmq::message_t& payload) {
  zmq::message_t copy;
  copy.copy(const_cast<zmq::message_t&>(payload));  // shares the buffer of large payloads
  return copy;
}

}  // namespace

ClientMessage OutboundLog::record(ClientMessage&& message) {
  if (auto* ping = std::get_if<Ping>(&message)) {
    const std::uint64_t sync_token = ping->token;
    ping->token = next_wire_token_++;
    since_ping_ = 0;
    bytes_since_ping_ = 0;
    entries_.push_back(Entry{ping->token, Ping{sync_token}, sync_token});
    return std::move(message);
  }
  if (const auto* ready = std::get_if<Ready>(&message); ready != nullptr && ready->credits > 0) {
    auto& held = credits_[ready->group];
    held = std::min<std::int64_t>(held + ready->credits, max_credits);
  }
  remember(message, 0);
  return std::move(message);
}

void OutboundLog::remember(const ClientMessage& message, std::uint64_t sync_token) {
  if (const auto* m = std::get_if<Broadcast>(&message)) {
    entries_.push_back(Entry{next_wire_token_, Broadcast{m->seq, m->group, share(m->payload)}, sync_token, m->payload.size()});
  } else if (const auto* p = std::get_if<Produce>(&message)) {
    entries_.push_back(
        Entry{next_wire_token_, Produce{p->seq, p->group, p->copies, share(p->payload)}, sync_token, p->payload.size()});
  } else {
    return;  // READY is kept as a credit count, ACK and the rest need no resending
  }
  bytes_ += entries_.back().bytes;
  bytes_since_ping_ += entries_.back().bytes;
  ++since_ping_;
}

void OutboundLog::record_unsent(const ClientMessage& message) {
  remember(message, 0);
  entries_.back().confirmed_by = not_sent;
}

OutboundLog::Entry* OutboundLog::find(std::uint64_t seq) {
  for (Entry& entry : entries_) {
    if (const auto object = object_view(entry.message); object && object->seq == seq) return &entry;
  }
  return nullptr;
}

void OutboundLog::sent(std::uint64_t seq) {
  if (Entry* entry = find(seq)) entry->confirmed_by = next_wire_token_;
}

void OutboundLog::unsent(std::uint64_t seq) {
  if (Entry* entry = find(seq)) entry->confirmed_by = not_sent;
}

Ping OutboundLog::heartbeat() {
  since_ping_ = 0;
  bytes_since_ping_ = 0;
  return Ping{next_wire_token_++};
}

void OutboundLog::on_pong(std::uint64_t wire_token) {
  answered_ = std::max(answered_, wire_token);
  // Objects are confirmed by the PING after them, also behind one not on the wire yet (a large
  // object uploading): other groups' objects do not wait for it here.
  std::erase_if(entries_, [&](const Entry& e) {
    const bool confirmed = e.sync_token == 0 && e.confirmed_by <= wire_token;
    if (confirmed) forget(e);
    return confirmed;
  });
  // An application sync only once everything before it is confirmed.
  while (!entries_.empty() && entries_.front().confirmed_by <= wire_token) {
    confirmed_sync_ = std::max(confirmed_sync_, entries_.front().sync_token);
    forget(entries_.front());
    entries_.pop_front();
  }
}

void OutboundLog::on_produced_delivery(const std::string& group) {
  // Items asked for with READY n < 0 consume no credit, so this can undercount; never below 0.
  if (auto it = credits_.find(group); it != credits_.end() && it->second > 0) {
    --it->second;
    ++spent_[group];
  }
}

void OutboundLog::return_credits(const std::string& group, std::size_t count) {
  auto spent = spent_.find(group);
  if (spent == spent_.end()) return;
  const auto returned = std::min<std::int64_t>(spent->second, static_cast<std::int64_t>(count));
  spent->second -= returned;
  auto& held = credits_[group];
  held = std::min<std::int64_t>(held + returned, max_credits);
}

std::vector<ClientMessage> OutboundLog::resend() {
  std::vector<ClientMessage> messages;
  for (const auto& [group, credits] : credits_) {
    if (credits > 0) messages.emplace_back(Ready{group, static_cast<std::int32_t>(credits)});
  }
  spent_.clear();
  auto entries = std::exchange(entries_, {});
  since_ping_ = 0;
  bytes_since_ping_ = 0;
  bytes_ = 0;
  for (Entry& entry : entries) messages.push_back(record(std::move(entry.message)));
  return messages;
}

}  // namespace zrelay::endpoint
