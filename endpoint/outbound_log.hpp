#pragma once
// What this endpoint sent in the current session and the broker has not confirmed yet, and the
// credits it still has outstanding: what a new session must send again so that nothing the
// application handed over is lost with a connection or a broker restart.
//
// The broker handles a client's messages in order, so a PONG confirms everything sent before its
// PING (an object uploading in chunks is "sent" once its last chunk went out; the objects
// after it are confirmed without waiting for it, an application sync after it waits). Every PING on the wire gets a token from here, in send order; application syncs keep
// their own tokens and are confirmed through the same mechanism.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace zrelay::endpoint {

class OutboundLog {
 public:
  // A PING is added after this many unconfirmed objects, or this many of their bytes, so
  // confirmations keep up under load.
  explicit OutboundLog(std::size_t ping_every = 256, std::size_t ping_every_bytes = std::size_t{16} << 20)
      : ping_every_(ping_every), ping_every_bytes_(ping_every_bytes) {}

  // An application message about to be sent; returns what goes on the wire (a PING gets its
  // wire token here).
  [[nodiscard]] protocol::ClientMessage record(protocol::ClientMessage&& message);
  // A BROADCAST or PRODUCE that goes on the wire later (in chunks, or after such an object):
  // no PING confirms it, nor anything recorded after it, until sent(seq) was called.
  void record_unsent(const protocol::ClientMessage& message);
  // The last byte of that object went out: the next PING confirms it.
  void sent(std::uint64_t seq);
  // It was sent again by resend() but goes on the wire later once more.
  void unsent(std::uint64_t seq);
  // The highest PING token the broker answered.
  [[nodiscard]] std::uint64_t answered() const noexcept { return answered_; }
  // A heartbeat PING (no application token).
  [[nodiscard]] protocol::Ping heartbeat();
  // True when enough unconfirmed objects piled up since the last PING to ask for a confirmation.
  [[nodiscard]] bool confirmation_due() const noexcept {
    return since_ping_ >= ping_every_ || bytes_since_ping_ >= ping_every_bytes_;
  }
  void on_pong(std::uint64_t wire_token);
  void on_produced_delivery(const std::string& group);
  // `count` produced items delivered in the lost session were never taken by the application:
  // the credits they used are outstanding again (at most as many as deliveries used credits).
  void return_credits(const std::string& group, std::size_t count);

  // For a new session: READY for the outstanding credits, then every unconfirmed message again,
  // in the order first sent. They are recorded again (they stay unconfirmed until a new PONG).
  [[nodiscard]] std::vector<protocol::ClientMessage> resend();

  [[nodiscard]] std::size_t unconfirmed() const noexcept { return entries_.size(); }
  // The payload bytes of those objects (what resending them needs kept).
  [[nodiscard]] std::size_t unconfirmed_bytes() const noexcept { return bytes_; }
  // The highest application sync token the broker has confirmed.
  [[nodiscard]] std::uint64_t confirmed_sync() const noexcept { return confirmed_sync_; }

 private:
  // confirmed_by of an object not on the wire yet.
  static constexpr std::uint64_t not_sent = ~std::uint64_t{0};

  struct Entry {
    std::uint64_t confirmed_by;  // the wire token of the first PING sent after it (or not_sent)
    protocol::ClientMessage message;
    std::uint64_t sync_token = 0;  // for an application PING
    std::size_t bytes = 0;         // of its payload
  };

  void forget(const Entry& entry) noexcept { bytes_ -= entry.bytes; }

  void remember(const protocol::ClientMessage& message, std::uint64_t sync_token);
  [[nodiscard]] Entry* find(std::uint64_t seq);

  std::size_t ping_every_;
  std::size_t ping_every_bytes_;
  std::deque<Entry> entries_;
  std::map<std::string, std::int64_t> credits_;
  std::map<std::string, std::int64_t> spent_;  // credits used by deliveries since the last resend()
  std::uint64_t next_wire_token_ = 1;
  std::uint64_t confirmed_sync_ = 0;
  std::uint64_t answered_ = 0;
  std::size_t since_ping_ = 0;
  std::size_t bytes_ = 0;
  std::size_t bytes_since_ping_ = 0;
};

}  // namespace zrelay::endpoint
