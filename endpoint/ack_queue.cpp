#include "endpoint/ack_queue.hpp"

#include <utility>

namespace zrelay::endpoint {

bool AckQueue::add(const std::vector<std::uint64_t>& ids) {
  if (ids.empty()) return false;
  std::lock_guard lock(mutex_);
  const bool was_empty = ids_.empty();
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  return was_empty;
}

std::vector<std::uint64_t> AckQueue::take() {
  std::lock_guard lock(mutex_);
  return std::exchange(ids_, {});
}

bool AckQueue::empty() const {
  std::lock_guard lock(mutex_);
  return ids_.empty();
}

}  // namespace zrelay::endpoint
