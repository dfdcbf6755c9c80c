#pragma once
// An object a client uploads in chunks (BEGIN, then CHUNKs in order): its bytes so far, in one
// buffer of its whole size. From BEGIN on its size is reserved in the payload budget, so that a
// client cannot make the broker hold more than the budget by starting uploads it never ends. An
// upload the broker refused or had applied before is swallowed: its chunks are read and dropped.
#include <cstdint>
#include <optional>

#include <zmq.hpp>

#include "broker/payload_account.hpp"
#include "protocol/messages.hpp"

namespace zrelay::broker {

class Upload {
 public:
  // The bytes will be kept; `reservation` is their budget until the object is handled.
  Upload(protocol::Begin begin, Charge reservation);
  // Chunks read and dropped.
  [[nodiscard]] static Upload swallowed(protocol::Begin begin);

  // Appends the next chunk. False if it is not the next one (its offset) or goes past the size.
  [[nodiscard]] bool append(const protocol::Chunk& chunk);
  [[nodiscard]] bool complete() const noexcept { return received_ == begin_.size; }
  [[nodiscard]] bool kept() const noexcept { return buffer_.has_value(); }
  [[nodiscard]] const protocol::Begin& header() const noexcept { return begin_; }
  // The whole object as the BROADCAST or PRODUCE it stands for; the reservation ends.
  [[nodiscard]] protocol::ClientMessage take();

 private:
  explicit Upload(protocol::Begin begin) : begin_(std::move(begin)) {}

  protocol::Begin begin_;
  std::optional<zmq::message_t> buffer_;
  std::uint64_t received_ = 0;
  Charge reservation_;
};

}  // namespace zrelay::broker
