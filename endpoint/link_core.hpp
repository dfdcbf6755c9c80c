#pragma once
// The endpoint's whole protocol without sockets: the Session (what the messages mean) and every
// timed transition around it (PINGs and the broker's liveness, the deadline of a new session,
// the backoff between attempts, the grace after a dropped connection, the stop timeout and the
// drain before BYE). Events come in with the time they happened (the clock is the caller's);
// actions go out in order: connect, disconnect, messages to send. BrokerLink is its pump.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <zrelay/endpoint_options.hpp>

#include "endpoint/backoff.hpp"
#include "endpoint/drain_check.hpp"
#include "endpoint/liveness.hpp"
#include "endpoint/session.hpp"
#include "endpoint/uploader.hpp"
#include "protocol/codec.hpp"

namespace zrelay::endpoint {

struct Connect {};     // a fresh connection to the broker
struct Disconnect {};  // close the connection; what it still held is dropped (the session resends it)
using LinkAction = std::variant<Connect, Disconnect, protocol::ClientMessage>;

class LinkCore {
 public:
  using Clock = std::chrono::steady_clock;

  // How long a new session after a loss may take to open before the next attempt (at least).
  static constexpr std::chrono::milliseconds min_attempt_window{2000};
  // How long messages that arrived before a dropped connection may take to become readable.
  static constexpr std::chrono::milliseconds disconnect_grace{100};

  LinkCore(const EndpointOptions& options, EndpointId id, std::uint64_t seed);

  // The first connection and session.
  void start(Clock::time_point now);
  // One message from the broker (a batch of commands, or why it did not decode).
  void on_broker_message(Clock::time_point now, protocol::Batch<protocol::BrokerMessage>&& batch);
  // The connection dropped (the socket monitor said so).
  void on_disconnected(Clock::time_point now);
  void on_auth_failed(int status) { session_.on_auth_failed(status); }
  // A handshake went wrong without a verdict (reported with the next loss).
  void on_handshake_problem(std::string problem) { problem_ = std::move(problem); }
  // A message of the application's, taken from its SubmitQueue (only while accepts_application()).
  void on_application(protocol::ClientMessage&& message);
  // Acknowledgements the application queued (only while accepts_acks()).
  void on_acks(const std::vector<std::uint64_t>& ids);
  [[nodiscard]] bool accepts_acks() const noexcept { return session_.state() == SessionState::active; }
  void on_stop_requested(Clock::time_point now);
  // The connection's and the session's timers.
  void tick(Clock::time_point now);
  // While stopping: BYE once `probes` say nothing of the application's is on its way (asked
  // after the queue was read), and failure past the stop timeout.
  void stop_when_drained(Clock::time_point now, const DrainProbes& probes);

  [[nodiscard]] std::vector<LinkAction> take_actions() { return std::exchange(actions_, {}); }
  // False right after a dropped connection: libzmq may already be connected to a restarted
  // broker, which must not get this session's messages.
  [[nodiscard]] bool may_send() const noexcept { return !lost_connection_at_; }
  // The application's next message may be taken now (back-pressure otherwise).
  [[nodiscard]] bool accepts_application() const noexcept;
  [[nodiscard]] bool stopping() const noexcept { return stop_deadline_.has_value(); }
  [[nodiscard]] bool finished() const noexcept;
  [[nodiscard]] Session& session() noexcept { return session_; }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }
  [[nodiscard]] TransferProgress progress() const;

 private:
  void open_session(Clock::time_point now);
  // One command of a batch; false once the session is lost or ended (the rest is not read).
  [[nodiscard]] bool on_broker_command(Clock::time_point now, protocol::BrokerMessage&& message);
  void after_loss(Clock::time_point now);
  void lose(Clock::time_point now, const std::string& why);
  void close_when_drained(const DrainProbes& probes);
  void send(protocol::ClientMessage&& message) { actions_.emplace_back(std::move(message)); }
  // What the uploader may send now (after a PONG, a new object, a new session).
  void pump_uploads();
  // The messages a new session sends again; objects that go through the uploader go there.
  void resend(std::vector<protocol::ClientMessage>&& messages);
  [[nodiscard]] std::chrono::milliseconds attempt_window() const;

  const EndpointOptions& options_;
  Session session_;
  Uploader uploader_;
  Liveness liveness_;
  Backoff backoff_;
  std::minstd_rand random_;
  std::vector<LinkAction> actions_;
  std::optional<Clock::time_point> next_attempt_;      // when reconnecting
  std::optional<Clock::time_point> attempt_deadline_;  // a new session must open by then
  std::optional<Clock::time_point> stop_deadline_;     // set by a stop request, moved on by uploads
  std::pair<std::uint64_t, std::uint64_t> stop_progress_{0, 0};  // the upload's at the last look
  std::optional<Clock::time_point> lost_connection_at_;
  bool bye_sent_ = false;
  std::string problem_;
};

}  // namespace zrelay::endpoint
