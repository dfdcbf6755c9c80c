#pragma once
// The endpoint's side of the protocol as a pure state machine: broker messages in, client
// messages, received objects, refusals and connection events out. It lives across sessions:
// when one is lost it is opened again (the I/O loop decides when) and what the broker had not
// confirmed is sent again. endpoint/broker_link.cpp runs it on a socket.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include <zrelay/connection.hpp>
#include <zrelay/error.hpp>
#include <zrelay/message.hpp>
#include <zrelay/refusal.hpp>

#include "endpoint/outbound_log.hpp"
#include "endpoint/reassembly.hpp"
#include "protocol/messages.hpp"

namespace zrelay::endpoint {

// The broker's answer to a statistics request: its JSON document, or why it refused.
struct StatsAnswer {
  std::uint64_t seq = 0;
  std::string json;
  std::optional<Error> refused;
};

enum class SessionState {
  connecting,    // HELLO and JOINs sent, waiting for WELCOME and every JOINED
  active,
  reconnecting,  // the last session was lost; waiting to open a new one
  closing,       // BYE sent, waiting for GOODBYE
  closed,
  failed,
};

class Session {
 public:
  // `endpoint_id` goes in every HELLO: the broker deduplicates objects sent again by it.
  Session(std::vector<std::string> groups, std::string name, std::size_t ping_every = 256, EndpointId endpoint_id = {},
          std::size_t ping_every_bytes = std::size_t{16} << 20);

  // The messages that open a session: HELLO, then a JOIN per group.
  [[nodiscard]] std::vector<protocol::ClientMessage> open();
  void on_message(protocol::BrokerMessage&& message);
  // The CURVE handshake was refused (ZAP status code, e.g. 400).
  void on_auth_failed(int status);
  void fail(Error error);
  // The connection or the broker's record of this session is gone. Before the first session
  // is open this changes nothing (the first connection keeps trying); while closing it fails.
  void lose(const std::string& why);
  // BYE if the session is active; otherwise nothing to say and the session is closed.
  [[nodiscard]] std::optional<protocol::ClientMessage> close();

  // An application message on its way to the broker (see OutboundLog::record).
  [[nodiscard]] protocol::ClientMessage outgoing(protocol::ClientMessage&& message) {
    if (const auto* stats = std::get_if<protocol::Stats>(&message)) stats_requests_.insert(stats->seq);
    return log_.record(std::move(message));
  }
  // A BROADCAST or PRODUCE that goes on the wire later, through the Uploader (see
  // OutboundLog::record_unsent); sent(seq) once its last byte went out.
  void outgoing_later(const protocol::ClientMessage& message) { log_.record_unsent(message); }
  void sent(std::uint64_t seq) { log_.sent(seq); }
  void unsent(std::uint64_t seq) { log_.unsent(seq); }
  // The highest PING token the broker answered.
  [[nodiscard]] std::uint64_t answered() const noexcept { return log_.answered(); }
  [[nodiscard]] protocol::Ping heartbeat() { return log_.heartbeat(); }
  // Objects arriving in chunks at once, at most (the broker streams one at a time to a session;
  // one whose last chunk the socket refused can overlap the next).
  static constexpr std::size_t max_incoming = 4;

  // Produced items of a lost session that the application never took, by group (what
  // Inbox::discard_produced() removed): their credits are asked for again. Returns how many.
  std::size_t return_untaken(const std::map<std::string, std::size_t>& untaken);
  [[nodiscard]] bool confirmation_due() const noexcept { return log_.confirmation_due(); }
  [[nodiscard]] std::size_t unconfirmed() const noexcept { return log_.unconfirmed(); }
  [[nodiscard]] std::size_t unconfirmed_bytes() const noexcept { return log_.unconfirmed_bytes(); }
  // Messages the session itself must send now (credits and unconfirmed objects after a new session opened).
  [[nodiscard]] std::vector<protocol::ClientMessage> take_outgoing() { return std::exchange(outgoing_, {}); }

  [[nodiscard]] SessionState state() const noexcept { return state_; }
  [[nodiscard]] bool ever_active() const noexcept { return sessions_ > 0; }
  [[nodiscard]] const std::optional<Error>& failure() const noexcept { return failure_; }
  [[nodiscard]] std::uint64_t max_message_size() const noexcept { return max_message_size_; }
  [[nodiscard]] std::uint32_t heartbeat_ms() const noexcept { return heartbeat_ms_; }
  [[nodiscard]] std::uint32_t liveness_ms() const noexcept { return liveness_ms_; }
  // The highest application sync token the broker has confirmed.
  [[nodiscard]] std::uint64_t confirmed_sync() const noexcept { return log_.confirmed_sync(); }
  // Objects arriving in chunks now: their sizes and the bytes received, added up.
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> incoming_progress() const;
  [[nodiscard]] std::vector<Message> take_deliveries() { return std::exchange(deliveries_, {}); }
  [[nodiscard]] std::vector<Refusal> take_refusals() { return std::exchange(refusals_, {}); }
  [[nodiscard]] std::vector<ConnectionEvent> take_events() { return std::exchange(events_, {}); }
  // Answers to the STATS requests that went out through outgoing().
  [[nodiscard]] std::vector<StatsAnswer> take_stats_answers() { return std::exchange(stats_answers_, {}); }

 private:
  void on(protocol::Welcome&& m);
  void on(protocol::Joined&& m);
  void on(protocol::Left&& m);
  void on(protocol::Deliver&& m);
  void on(protocol::ErrorReply&& m);
  void on(protocol::Pong&& m);
  void on(protocol::Goodbye&& m);
  void on(protocol::StatsReply&& m);
  void on(protocol::DeliverBegin&& m);
  void on(protocol::DeliverChunk&& m);
  void on(protocol::Abort&& m);
  void on_refused_join(protocol::ErrorReply&& m);
  void become_active_if_ready();
  void event(ConnectionState state, std::string detail);

  std::vector<std::string> groups_;
  std::string name_;
  EndpointId endpoint_id_;
  OutboundLog log_;
  SessionState state_ = SessionState::connecting;
  bool welcomed_ = false;
  std::set<std::string> pending_joins_;
  std::optional<Error> failure_;
  std::uint64_t max_message_size_ = 0;
  std::uint32_t heartbeat_ms_ = 1000;
  std::uint32_t liveness_ms_ = 3000;
  std::optional<std::uint64_t> instance_;  // of the broker that served the last session
  bool broker_restarted_ = false;
  std::uint64_t sessions_ = 0;
  // Objects arriving in chunks, by delivery id: dropped with the session they came in.
  std::map<std::uint64_t, Reassembly> incoming_;
  std::vector<Message> deliveries_;
  std::vector<Refusal> refusals_;
  std::vector<ConnectionEvent> events_;
  std::vector<protocol::ClientMessage> outgoing_;
  std::set<std::uint64_t> stats_requests_;
  std::vector<StatsAnswer> stats_answers_;
};

}  // namespace zrelay::endpoint
