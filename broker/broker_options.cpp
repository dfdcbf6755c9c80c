#include <zrelay/broker_options.hpp>

#include <unistd.h>

#include <algorithm>

namespace zrelay {

std::uint64_t default_payload_budget() noexcept {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  const std::uint64_t physical = pages > 0 && page_size > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size) : 0;
  return std::max<std::uint64_t>(physical / 2, 1ull << 30);
}

bool has_durable_groups(const BrokerLimits& limits) noexcept {
  return !limits.durable_groups.empty() || std::any_of(limits.accepted_groups.begin(), limits.accepted_groups.end(),
                                                       [](const GroupOptions& g) { return g.durable; });
}

}  // namespace zrelay
