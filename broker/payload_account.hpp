#pragma once
// Counts the bytes of payload buffers while anything still refers to them, wherever that is:
// the broker's queues and last values, or libzmq's send pipes (libzmq frees a sent message on
// its own I/O thread, hence the atomic counters). A tracked message is a zero-copy view of the
// original; its copies share one buffer, so each buffer counts once. Fixed charges (what an
// item costs besides its payload) count in the same account while their Charge lives.
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include <zmq.hpp>

namespace zrelay::broker {

struct AccountCounters {
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> buffers{0};  // tracked messages alive, empty ones included
};

// Bytes counted in an account while this lives. Move-only.
class Charge {
 public:
  Charge() = default;
  Charge(std::shared_ptr<AccountCounters> counters, std::uint64_t bytes) noexcept
      : counters_(std::move(counters)), bytes_(bytes) {
    counters_->bytes.fetch_add(bytes_);
  }
  Charge(Charge&& other) noexcept : counters_(std::move(other.counters_)), bytes_(std::exchange(other.bytes_, 0)) {}
  Charge& operator=(Charge&& other) noexcept {
    if (this != &other) {
      release();
      counters_ = std::move(other.counters_);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  Charge(const Charge&) = delete;
  Charge& operator=(const Charge&) = delete;
  ~Charge() { release(); }

 private:
  void release() noexcept {
    if (counters_) counters_->bytes.fetch_sub(bytes_);
    counters_.reset();
  }

  std::shared_ptr<AccountCounters> counters_;
  std::uint64_t bytes_ = 0;
};

class PayloadAccount {
 public:
  PayloadAccount() : counters_(std::make_shared<AccountCounters>()) {}

  // The same bytes, counted here until the last copy of the result is released. An empty
  // payload counts as a buffer of no bytes.
  [[nodiscard]] zmq::message_t track(zmq::message_t&& payload) const;
  // `bytes` counted here while the result lives.
  [[nodiscard]] Charge charge(std::uint64_t bytes) const { return Charge(counters_, bytes); }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return counters_->bytes.load(); }
  [[nodiscard]] std::uint64_t buffers() const noexcept { return counters_->buffers.load(); }

 private:
  // Shared with the messages: libzmq may release one after this account is gone.
  std::shared_ptr<AccountCounters> counters_;
};

}  // namespace zrelay::broker
