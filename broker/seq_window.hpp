#pragma once
// Which seqs of one producer were applied: the highest, and a bitmap of the window below it (a
// replay window, as IPsec keeps one). A seq below the window counts as applied: too old to tell.
#include <bitset>
#include <cstddef>
#include <cstdint>

namespace zrelay::broker {

struct SeqWindow {
  static constexpr std::size_t size = 1024;
  std::uint64_t highest = 0;
  std::bitset<size> applied;  // bit i: seq highest - i

  // Marks `seq` applied; true if it moved the window (it is the new highest).
  bool mark(std::uint64_t seq);
  // `seq` counts as not applied (nothing if it is outside the window).
  void unmark(std::uint64_t seq);
  // Applied, or below the window.
  [[nodiscard]] bool covers(std::uint64_t seq) const;
  // The lowest seq inside the window.
  [[nodiscard]] std::uint64_t oldest() const noexcept { return highest >= size ? highest - size + 1 : 0; }
};

}  // namespace zrelay::broker
