#pragma once
// Counts the bytes of payload buffers while anything still refers to them, wherever that is:
// the broker's queues and last values, or libzmq's send pipes (libzmq frees a sent message on
// its own I/O thread, hence the atomic counter). A tracked message is a zero-copy view of the
// original; its copies share one buffer, so each buffer counts once.
#include <atomic>
#include <cstdint>
#include <memory>

#include <zmq.hpp>

namespace zrelay::broker {

class PayloadAccount {
 public:
  PayloadAccount() : bytes_(std::make_shared<std::atomic<std::uint64_t>>(0)) {}

  // The same bytes, counted here until the last copy of the result is released.
  [[nodiscard]] zmq::message_t track(zmq::message_t&& payload) const;
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_->load(); }

 private:
  // Shared with the messages: libzmq may release one after this account is gone.
  std::shared_ptr<std::atomic<std::uint64_t>> bytes_;
};

}  // namespace zrelay::broker
