#pragma once
// An object arriving in chunks (DELIVER-BEGIN, then DELIVER-CHUNKs in order), assembled in one
// buffer of its size, allocated at DELIVER-BEGIN (the broker's max_message_size bounds it).
#include <cstdint>

#include <zmq.hpp>

#include "protocol/messages.hpp"

namespace zrelay::endpoint {

class Reassembly {
 public:
  explicit Reassembly(protocol::DeliverBegin begin) : begin_(std::move(begin)), buffer_(begin_.size) {}

  // False if the chunk is not the next one or goes past the size.
  [[nodiscard]] bool append(const protocol::DeliverChunk& chunk);
  [[nodiscard]] bool complete() const noexcept { return received_ == begin_.size; }
  [[nodiscard]] std::uint64_t received() const noexcept { return received_; }
  [[nodiscard]] const protocol::DeliverBegin& header() const noexcept { return begin_; }
  // The whole object, as a DELIVER.
  [[nodiscard]] protocol::Deliver take();

 private:
  protocol::DeliverBegin begin_;
  zmq::message_t buffer_;
  std::uint64_t received_ = 0;
};

}  // namespace zrelay::endpoint
