#include "broker/seq_window.hpp"

namespace zrelay::broker {

bool SeqWindow::mark(std::uint64_t seq) {
  if (seq > highest) {
    const std::uint64_t ahead = seq - highest;
    applied = ahead >= size ? std::bitset<size>() : applied << ahead;
    highest = seq;
    applied.set(0);
    return true;
  }
  if (highest - seq < size) applied.set(highest - seq);
  return false;
}

void SeqWindow::unmark(std::uint64_t seq) {
  if (seq <= highest && highest - seq < size) applied.reset(highest - seq);
}

bool SeqWindow::covers(std::uint64_t seq) const {
  if (seq > highest) return false;
  const std::uint64_t behind = highest - seq;
  return behind >= size || applied.test(behind);
}

}  // namespace zrelay::broker
