#include "endpoint/session.hpp"

#include <algorithm>

namespace zrelay::endpoint {

using namespace protocol;

namespace {

std::string goodbye_text(GoodbyeReason reason) {
  switch (reason) {
    case GoodbyeReason::shutting_down: return "the broker is shutting down";
    case GoodbyeReason::expired: return "the broker forgot this session after hearing nothing from it";
    case GoodbyeReason::overflowed:
      return "the broker forgot this session: too many replies, or a large object, were left unread";
    case GoodbyeReason::revoked: return "the broker no longer authorizes this endpoint's key";
    case GoodbyeReason::bye: break;
  }
  return "the broker ended the session";
}

}  // namespace

Session::Session(std::vector<std::string> groups, std::string name, std::size_t ping_every, EndpointId endpoint_id,
                 std::size_t ping_every_bytes)
    : groups_(std::move(groups)), name_(std::move(name)), endpoint_id_(endpoint_id), log_(ping_every, ping_every_bytes) {}

std::vector<ClientMessage> Session::open() {
  state_ = SessionState::connecting;
  welcomed_ = false;
  incoming_.clear();
  std::vector<ClientMessage> messages;
  messages.emplace_back(Hello{name_, endpoint_id_});
  pending_joins_.clear();
  for (const std::string& group : groups_) {
    messages.emplace_back(Join{group});
    pending_joins_.insert(group);
  }
  return messages;
}

void Session::on_message(BrokerMessage&& message) {
  std::visit([this](auto&& m) { on(std::move(m)); }, std::move(message));
}

void Session::on_auth_failed(int status) {
  fail(Error(ErrorCode::not_authorized, "the broker refused this endpoint's key (ZAP status " +
                                            std::to_string(status) + "): add its public certificate to the "
                                            "broker's authorized keys"));
}

void Session::fail(Error error) {
  if (state_ == SessionState::closed || state_ == SessionState::failed) return;
  event(ConnectionState::failed, error.what());
  failure_ = std::move(error);
  state_ = SessionState::failed;
}

void Session::lose(const std::string& why) {
  if (state_ == SessionState::closing) {
    fail(Error(ErrorCode::connection_failed, "lost the session while stopping: " + why));
    return;
  }
  if (!ever_active() || (state_ != SessionState::active && state_ != SessionState::connecting)) return;
  incoming_.clear();  // received whole on the next session
  state_ = SessionState::reconnecting;
  event(ConnectionState::reconnecting, why);
}

std::optional<ClientMessage> Session::close() {
  if (state_ == SessionState::active) {
    state_ = SessionState::closing;
    event(ConnectionState::stopping, "sending BYE");
    return Bye{};
  }
  if (state_ != SessionState::failed) {
    state_ = SessionState::closed;
    event(ConnectionState::stopped, "stopped without a session");
  }
  return std::nullopt;
}

std::size_t Session::return_untaken(const std::map<std::string, std::size_t>& untaken) {
  std::size_t total = 0;
  for (const auto& [group, count] : untaken) {
    log_.return_credits(group, count);
    total += count;
  }
  return total;
}

void Session::on(Welcome&& m) {
  welcomed_ = true;
  max_message_size_ = m.max_message_size;
  if (m.heartbeat_ms > 0) heartbeat_ms_ = m.heartbeat_ms;
  if (m.liveness_ms > 0) liveness_ms_ = m.liveness_ms;
  broker_restarted_ = instance_.has_value() && *instance_ != m.instance;
  instance_ = m.instance;
  become_active_if_ready();
}

void Session::on(Joined&& m) {
  pending_joins_.erase(m.group);
  become_active_if_ready();
}

void Session::on(Left&&) {}

void Session::on(Deliver&& m) {
  if (m.kind == Kind::produced) log_.on_produced_delivery(m.group);
  deliveries_.emplace_back(std::move(m.group), m.kind, m.delivery_id, std::move(m.payload), m.attempt, m.object);
}

void Session::on(ErrorReply&& m) {
  if (state_ == SessionState::connecting) {
    on_refused_join(std::move(m));
    return;
  }
  if (m.group.empty() && stats_requests_.erase(m.seq) != 0) {
    stats_answers_.push_back(StatsAnswer{m.seq, {}, Error(m.code, "the broker refused statistics: " + m.text)});
    return;
  }
  if (m.code == ErrorCode::hello_expected && state_ == SessionState::active) {
    lose("the broker no longer knows this session (" + m.text + ")");
    return;
  }
  refusals_.push_back(Refusal{m.code, m.seq, std::move(m.group), std::move(m.text)});
}

void Session::on_refused_join(ErrorReply&& m) {
  const std::string subject = m.group.empty() ? std::string("session") : "join of group '" + m.group + "'";
  const std::string text = subject + " refused by the broker (" + std::string(to_string(m.code)) + "): " + m.text;
  // On a new session the old one may still hold its place in a full group until the broker
  // forgets it, and a broker whose budget is used up refuses the JOIN until consumers catch up:
  // try again later. A broker that forgot the session while it was opening (its JOINs came
  // later than the liveness window, over a slow link) is no refusal either: a new session is
  // tried. Anything else is as final as on the first session.
  const bool transient = m.code == ErrorCode::group_full || m.code == ErrorCode::over_budget;
  if ((ever_active() && transient) || m.code == ErrorCode::hello_expected) {
    state_ = SessionState::reconnecting;
    event(ConnectionState::reconnecting, text);
    return;
  }
  fail(Error(m.code, text));
}

void Session::on(Pong&& m) { log_.on_pong(m.token); }

void Session::on(Goodbye&& m) {
  if (state_ == SessionState::closing && m.reason == GoodbyeReason::bye) {
    state_ = SessionState::closed;
    event(ConnectionState::stopped, "the broker confirmed the end of the session");
    return;
  }
  if (m.reason == GoodbyeReason::revoked) {
    fail(Error(ErrorCode::not_authorized, goodbye_text(m.reason)));
    return;
  }
  lose(goodbye_text(m.reason));
}

void Session::on(StatsReply&& m) {
  stats_requests_.erase(m.seq);
  stats_answers_.push_back(StatsAnswer{m.seq, std::move(m.json), std::nullopt});
}

void Session::on(DeliverBegin&& m) {
  if (incoming_.size() >= max_incoming || (max_message_size_ != 0 && m.size > max_message_size_)) {
    lose("the broker started an object this endpoint cannot take (over max_message_size, or too many at once)");
    return;
  }
  incoming_.insert_or_assign(m.delivery_id, Reassembly(std::move(m)));
}

void Session::on(DeliverChunk&& m) {
  const auto it = incoming_.find(m.delivery_id);
  if (it == incoming_.end()) return;  // of an object dropped with ABORT
  if (!it->second.append(m)) {
    lose("the broker sent a chunk out of order");
    return;
  }
  if (!it->second.complete()) return;
  Deliver whole = it->second.take();
  incoming_.erase(it);
  on(std::move(whole));
}

std::pair<std::uint64_t, std::uint64_t> Session::incoming_progress() const {
  std::pair<std::uint64_t, std::uint64_t> sum{0, 0};
  for (const auto& [id, object] : incoming_) {
    sum.first += object.header().size;
    sum.second += object.received();
  }
  return sum;
}

void Session::on(Abort&& m) { incoming_.erase(m.delivery_id); }

void Session::become_active_if_ready() {
  if (state_ != SessionState::connecting || !welcomed_ || !pending_joins_.empty()) return;
  state_ = SessionState::active;
  ConnectionEvent connected{ConnectionState::connected, {}, broker_restarted_, 0, 0};
  if (sessions_++ > 0) {
    outgoing_ = log_.resend();
    connected.resent = static_cast<std::uint64_t>(std::count_if(outgoing_.begin(), outgoing_.end(), [](const auto& m) {
      return std::holds_alternative<Broadcast>(m) || std::holds_alternative<Produce>(m);
    }));
    connected.detail = broker_restarted_
                           ? "new session with a restarted broker: its queues, last values and unacknowledged "
                             "items were lost with the old process"
                           : "new session with the same broker";
  } else {
    connected.detail = "session open";
  }
  events_.push_back(std::move(connected));
}

void Session::event(ConnectionState state, std::string detail) {
  events_.push_back(ConnectionEvent{state, std::move(detail), false, 0, 0});
}

}  // namespace zrelay::endpoint
