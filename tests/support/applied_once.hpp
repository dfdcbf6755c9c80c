#pragma once
// The idempotent-producer invariant of both simulations (BrokerCoreDriver, EndpointSimulation):
// a produced item gets its delivery id when the broker applies it, and ids only grow, so two
// delivery ids of one object are two applications. That is allowed only if the broker forgot the
// object's producer in between (its window ran out, docs/protocol.md "Idempotent producers").
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <zrelay/object_id.hpp>

namespace zrelay::testing {

struct InvariantBroken : std::logic_error {
  using std::logic_error::logic_error;
};

class AppliedOnce {
 public:
  // The broker does not remember `producer` now; the next item it applies gets `next_delivery_id`.
  void forgotten(const EndpointId& producer, std::uint64_t next_delivery_id) {
    auto& marks = forgotten_[producer];
    if (marks.empty() || marks.back() != next_delivery_id) marks.push_back(next_delivery_id);
  }

  // `object` travelled under `delivery_id`; throws InvariantBroken if that is a second application.
  void delivered(const ObjectId& object, std::uint64_t delivery_id) {
    std::set<std::uint64_t>& ids = applications_[object];
    if (!ids.insert(delivery_id).second) return;
    const auto& marks = forgotten_[object.producer];
    for (const std::uint64_t other : ids) {
      const std::uint64_t low = std::min(other, delivery_id);
      const std::uint64_t high = std::max(other, delivery_id);
      const bool forgotten_between = std::any_of(marks.begin(), marks.end(), [&](std::uint64_t m) { return low < m && m <= high; });
      if (other != delivery_id && !forgotten_between) {
        throw InvariantBroken("object " + object.to_string() + " applied twice (delivery ids " + std::to_string(low) +
                              " and " + std::to_string(high) + ")");
      }
    }
  }

 private:
  std::map<ObjectId, std::set<std::uint64_t>> applications_;     // delivery ids each object travelled under
  std::map<EndpointId, std::vector<std::uint64_t>> forgotten_;  // next delivery ids while not remembered
};

// How many seeds a simulation runs: `plain`, or `soak` with ZRELAY_SOAK=1. Sanitizers make each
// schedule many times slower: their builds run a tenth (the plain build runs all in the test step).
inline std::uint64_t simulation_seeds(std::uint64_t plain, std::uint64_t soak) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t divisor = 10;
#else
  constexpr std::uint64_t divisor = 1;
#endif
  return (std::getenv("ZRELAY_SOAK") != nullptr ? soak : plain) / divisor;
}

}  // namespace zrelay::testing
