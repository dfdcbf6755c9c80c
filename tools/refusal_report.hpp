#pragma once
// Prints what the broker refused (take_refusals) to stderr, one line each, and remembers that it did.
#include <zrelay/endpoint.hpp>

namespace zrelay::cli {

class RefusalReport {
 public:
  // Takes the endpoint's refusals since the last call and prints them.
  void collect(Endpoint& endpoint);
  [[nodiscard]] bool any() const noexcept { return count_ > 0; }

 private:
  std::size_t count_ = 0;
};

}  // namespace zrelay::cli
