#pragma once
// The endpoint's side of the protocol as a pure state machine: broker messages in, client
// messages, received objects and refusals out. endpoint/endpoint.cpp runs it on a socket.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zrelay/error.hpp>
#include <zrelay/message.hpp>
#include <zrelay/refusal.hpp>

#include "protocol/messages.hpp"

namespace zrelay::endpoint {

enum class SessionState {
  connecting,  // HELLO and JOINs sent, waiting for WELCOME and every JOINED
  active,
  closing,     // BYE sent, waiting for GOODBYE
  closed,
  failed,
};

class Session {
 public:
  Session(std::vector<std::string> groups, std::string name);

  // The messages that open the session: HELLO, then a JOIN per group.
  [[nodiscard]] std::vector<protocol::ClientMessage> open();
  void on_message(protocol::BrokerMessage&& message);
  // The CURVE handshake was refused (ZAP status code, e.g. 400).
  void on_auth_failed(int status);
  void fail(Error error);
  // BYE if the session is active; otherwise nothing to say and the session is closed.
  [[nodiscard]] std::optional<protocol::ClientMessage> close();

  [[nodiscard]] SessionState state() const noexcept { return state_; }
  [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }
  [[nodiscard]] std::uint64_t max_message_size() const noexcept { return max_message_size_; }
  // The highest PING token the broker has answered.
  [[nodiscard]] std::uint64_t last_pong() const noexcept { return last_pong_; }
  [[nodiscard]] std::vector<Message> take_deliveries();
  [[nodiscard]] std::vector<Refusal> take_refusals();

 private:
  void on(protocol::Welcome&& m);
  void on(protocol::Joined&& m);
  void on(protocol::Left&& m);
  void on(protocol::Deliver&& m);
  void on(protocol::ErrorReply&& m);
  void on(protocol::Pong&& m);
  void on(protocol::Goodbye&& m);
  void become_active_if_ready();

  std::vector<std::string> groups_;
  std::string name_;
  SessionState state_ = SessionState::connecting;
  bool welcomed_ = false;
  std::set<std::string> pending_joins_;
  std::optional<Error> failure_;
  std::uint64_t max_message_size_ = 0;
  std::uint64_t last_pong_ = 0;
  std::vector<Message> deliveries_;
  std::vector<Refusal> refusals_;
};

}  // namespace zrelay::endpoint
