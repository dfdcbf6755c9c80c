#include "endpoint/link_core.hpp"

#include <algorithm>

#include "protocol/limits.hpp"

namespace zrelay::endpoint {

LinkCore::LinkCore(const EndpointOptions& options, EndpointId id, std::uint64_t seed)
    : options_(options),
      // A quarter of the byte window between PINGs: confirmations come back before it fills.
      session_(options.groups, options.name, 256, id, std::max<std::size_t>(options.max_unconfirmed_bytes / 4, 1)),
      backoff_(options.reconnect),
      random_(static_cast<std::minstd_rand::result_type>(seed)) {}

void LinkCore::start(Clock::time_point now) {
  actions_.emplace_back(Connect{});
  open_session(now);
}

void LinkCore::open_session(Clock::time_point now) {
  for (auto& message : session_.open()) send(std::move(message));
  liveness_.start(now, std::chrono::milliseconds(session_.heartbeat_ms()), std::chrono::milliseconds(session_.liveness_ms()));
  if (session_.ever_active()) attempt_deadline_ = now + attempt_window();
}

std::chrono::milliseconds LinkCore::attempt_window() const {
  return std::max<std::chrono::milliseconds>(min_attempt_window, std::chrono::milliseconds(session_.liveness_ms()));
}

void LinkCore::on_broker_message(Clock::time_point now, protocol::Batch<protocol::BrokerMessage>&& batch) {
  if (session_.state() == SessionState::reconnecting || finished()) return;  // the rest of a lost session
  liveness_.heard(now);
  // Command by command, exactly as if each had come alone: the rest of a batch that lost (or
  // ended) the session belongs to that session.
  for (protocol::BrokerMessage& message : batch.messages) {
    if (!on_broker_command(now, std::move(message))) return;
  }
  if (batch.error) {
    session_.fail(Error(batch.error->code(),
                        std::string("the broker sent a message this endpoint cannot read: ") + batch.error->what()));
  }
}

bool LinkCore::on_broker_command(Clock::time_point now, protocol::BrokerMessage&& message) {
  const bool was_active = session_.state() == SessionState::active;
  session_.on_message(std::move(message));
  if (session_.state() == SessionState::reconnecting) {
    after_loss(now);
    return false;
  }
  if (finished()) return false;
  if (!was_active && session_.state() == SessionState::active) {
    backoff_.reset();
    attempt_deadline_.reset();
    liveness_.start(now, std::chrono::milliseconds(session_.heartbeat_ms()), std::chrono::milliseconds(session_.liveness_ms()));
  }
  resend(session_.take_outgoing());
  pump_uploads();
  return true;
}

void LinkCore::resend(std::vector<protocol::ClientMessage>&& messages) {
  if (messages.empty()) return;
  uploader_.restart();  // what it held is among these, in order
  for (auto& message : messages) {
    if (!uploader_.takes(message)) {
      send(std::move(message));
      continue;
    }
    session_.unsent(protocol::object_view(message)->seq);
    uploader_.push(std::move(message));
  }
}

void LinkCore::pump_uploads() {
  uploader_.confirm(session_.answered());  // also while closing: BYE may follow the last chunks
  if (uploader_.idle() || session_.state() != SessionState::active || !may_send()) return;
  auto messages = uploader_.next(
      session_.answered(), [this] { return session_.heartbeat(); }, [this](std::uint64_t seq) { session_.sent(seq); });
  for (auto& message : messages) send(std::move(message));
}

void LinkCore::on_disconnected(Clock::time_point now) {
  if (session_.state() == SessionState::active || session_.state() == SessionState::closing) {
    if (!lost_connection_at_) lost_connection_at_ = now;
  } else {
    problem_ = "the broker closed the connection during the handshake (wrong broker key?)";
  }
}

void LinkCore::on_application(protocol::ClientMessage&& message) {
  if (uploader_.takes(message)) {
    session_.outgoing_later(message);
    uploader_.push(std::move(message));
    pump_uploads();
    return;
  }
  send(session_.outgoing(std::move(message)));
  if (session_.confirmation_due()) send(session_.heartbeat());
}

void LinkCore::on_acks(const std::vector<std::uint64_t>& ids) {
  for (std::size_t begin = 0; begin < ids.size(); begin += protocol::max_acks) {
    const std::size_t end = std::min(ids.size(), begin + protocol::max_acks);
    send(protocol::Ack{{ids.begin() + static_cast<std::ptrdiff_t>(begin), ids.begin() + static_cast<std::ptrdiff_t>(end)}});
  }
}

void LinkCore::on_stop_requested(Clock::time_point now) {
  if (!stop_deadline_) stop_deadline_ = now + options_.stop_timeout;
}

void LinkCore::stop_when_drained(Clock::time_point now, const DrainProbes& probes) {
  if (!stop_deadline_) return;
  close_when_drained(probes);
  // The stop timeout is for a broker that does nothing: an upload that moves extends it.
  if (const auto sent = uploader_.progress(); sent != stop_progress_) {
    stop_progress_ = sent;
    stop_deadline_ = now + options_.stop_timeout;
  }
  if (now >= *stop_deadline_ && !finished()) {
    session_.fail(Error(ErrorCode::timeout, "the broker did not confirm the end of the session in time"));
  }
}

void LinkCore::tick(Clock::time_point now) {
  if (lost_connection_at_ && now >= *lost_connection_at_ + disconnect_grace) {
    lost_connection_at_.reset();
    if (session_.state() == SessionState::active || session_.state() == SessionState::closing) {
      lose(now, "lost the connection to the broker at " + options_.broker);
      return;
    }
  }
  switch (session_.state()) {
    case SessionState::reconnecting:
      if (next_attempt_ && now >= *next_attempt_) {
        next_attempt_.reset();
        actions_.emplace_back(Connect{});
        open_session(now);
      }
      break;
    case SessionState::connecting:
      if (attempt_deadline_ && now >= *attempt_deadline_) {
        lose(now, "no new session within " + std::to_string(attempt_window().count()) + " ms" +
                      (problem_.empty() ? std::string() : " (" + problem_ + ")"));
      }
      break;
    case SessionState::active:
      if (liveness_.broker_silent(now)) {
        lose(now, "no word from the broker for " + std::to_string(session_.liveness_ms()) + " ms");
      } else if (liveness_.ping_due(now)) {
        send(session_.heartbeat());
        liveness_.pinged(now);
      }
      break;
    default:
      break;
  }
}

void LinkCore::lose(Clock::time_point now, const std::string& why) {
  session_.lose(why);
  after_loss(now);
}

void LinkCore::after_loss(Clock::time_point now) {
  if (session_.state() != SessionState::reconnecting) return;
  actions_.clear();  // nothing more goes out on the lost connection
  actions_.emplace_back(Disconnect{});
  lost_connection_at_.reset();
  attempt_deadline_.reset();
  if (!options_.reconnect.enabled) {
    session_.fail(Error(ErrorCode::connection_failed, "lost the session and reconnection is disabled"));
  } else if (backoff_.exhausted()) {
    session_.fail(Error(ErrorCode::connection_failed, "no new session after " +
                                                          std::to_string(options_.reconnect.max_attempts) + " attempts"));
  } else {
    next_attempt_ = now + backoff_.next(std::uniform_real_distribution<double>(0.0, 1.0)(random_));
  }
}

void LinkCore::close_when_drained(const DrainProbes& probes) {
  if (bye_sent_ || !drained(probes) || !uploader_.idle()) return;
  if (session_.state() == SessionState::active) {
    bye_sent_ = true;
    send(*session_.close());
  } else if (session_.unconfirmed() == 0) {
    // No session now, and the broker has confirmed everything: nothing is left to say.
    (void)session_.close();
  }
}

bool LinkCore::accepts_application() const noexcept {
  return session_.state() == SessionState::active && !bye_sent_ && !lost_connection_at_ &&
         session_.unconfirmed() < options_.max_unconfirmed && session_.unconfirmed_bytes() < options_.max_unconfirmed_bytes;
}

TransferProgress LinkCore::progress() const {
  const auto [sending_total, sending_done] = uploader_.progress();
  const auto [receiving_total, receiving_done] = session_.incoming_progress();
  return TransferProgress{sending_total, sending_done, receiving_total, receiving_done};
}

bool LinkCore::finished() const noexcept {
  return session_.state() == SessionState::closed || session_.state() == SessionState::failed;
}

}  // namespace zrelay::endpoint
