#pragma once
// Delivery ids the application has taken, handed from its threads to the I/O thread. Adding
// never blocks on the network: a pop() must not wait behind a full send pipe.
#include <cstdint>
#include <mutex>
#include <vector>

namespace zrelay::endpoint {

class AckQueue {
 public:
  // True if the queue was empty before: the I/O thread needs a wake-up.
  bool add(const std::vector<std::uint64_t>& ids);
  [[nodiscard]] std::vector<std::uint64_t> take();
  [[nodiscard]] bool empty() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> ids_;
};

}  // namespace zrelay::endpoint
