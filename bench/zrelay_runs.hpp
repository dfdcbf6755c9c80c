#pragma once
// The same workloads through a zrelay broker (in this process, CURVE on loopback, as deployed)
// and zrelay endpoints.
#include <cstddef>
#include <cstdint>

#include "bench/harness.hpp"

namespace zrelay::bench {

// Durable: the group is durable (an LMDB store in a fresh temporary directory; a PRODUCE is
// confirmed once synced, an ACK is written before the item is forgotten).
Measurement zrelay_queue(std::size_t size, std::uint64_t count, int consumers, int window, bool durable = false);
// 1 producer spreading items round-robin over `groups` groups, 1 consumer in all of them with
// `window` credits in each.
Measurement zrelay_queue_groups(std::size_t size, std::uint64_t count, int groups, int window);
Measurement zrelay_fanout(std::size_t size, std::uint64_t count, int subscribers);
Measurement zrelay_round_trip(std::size_t size, std::uint64_t count);

}  // namespace zrelay::bench
