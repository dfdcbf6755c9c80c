#include "endpoint/session.hpp"

#include <algorithm>

namespace zrelay::endpoint {

using namespace protocol;

Session::Session(std::vector<std::string> groups, std::string name)
    : groups_(std::move(groups)), name_(std::move(name)) {}

std::vector<ClientMessage> Session::open() {
  std::vector<ClientMessage> messages;
  messages.emplace_back(Hello{name_});
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
  failure_ = std::move(error);
  state_ = SessionState::failed;
}

std::optional<ClientMessage> Session::close() {
  if (state_ == SessionState::active) {
    state_ = SessionState::closing;
    return Bye{};
  }
  if (state_ != SessionState::failed) state_ = SessionState::closed;
  return std::nullopt;
}

void Session::on(Welcome&& m) {
  welcomed_ = true;
  max_message_size_ = m.max_message_size;
  become_active_if_ready();
}

void Session::on(Joined&& m) {
  pending_joins_.erase(m.group);
  become_active_if_ready();
}

void Session::on(Left&&) {}

void Session::on(Deliver&& m) { deliveries_.emplace_back(std::move(m.group), m.kind, m.delivery_id, std::move(m.payload)); }

void Session::on(ErrorReply&& m) {
  if (state_ == SessionState::connecting) {
    // Nothing of the application's was sent yet: this refuses the session itself (a JOIN).
    const std::string subject = m.group.empty() ? std::string("session") : "join of group '" + m.group + "'";
    fail(Error(m.code, subject + " refused by the broker (" + std::string(to_string(m.code)) + "): " + m.text));
    return;
  }
  refusals_.push_back(Refusal{m.code, m.seq, std::move(m.group), std::move(m.text)});
}

void Session::on(Pong&& m) { last_pong_ = std::max(last_pong_, m.token); }

void Session::on(Goodbye&&) {
  if (state_ != SessionState::failed) state_ = SessionState::closed;
}

void Session::become_active_if_ready() {
  if (state_ == SessionState::connecting && welcomed_ && pending_joins_.empty()) state_ = SessionState::active;
}

std::vector<Message> Session::take_deliveries() { return std::exchange(deliveries_, {}); }
std::vector<Refusal> Session::take_refusals() { return std::exchange(refusals_, {}); }

}  // namespace zrelay::endpoint
