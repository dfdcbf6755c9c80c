#pragma once
// What every benchmark run reports, and the table zrelay-bench prints.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zrelay::bench {

using Clock = std::chrono::steady_clock;

struct Measurement {
  double seconds = 0;
  std::uint64_t messages = 0;  // delivered (per subscriber for fan-out)
  std::uint64_t bytes = 0;
  std::vector<double> latencies_us;  // round trips only
};

struct Cell {
  std::string workload;  // e.g. "queue c=4 w=16"
  std::size_t size = 0;
  bool curve = true;
  std::optional<Measurement> zrelay;
  std::optional<Measurement> forwarder;
  std::optional<Measurement> direct;
};

[[nodiscard]] double rate(const Measurement& m);  // messages per second
[[nodiscard]] double percentile(std::vector<double> values, double p);
// Prints the table header once, then one line per cell.
void print_header();
void print_cell(const Cell& cell);

}  // namespace zrelay::bench
