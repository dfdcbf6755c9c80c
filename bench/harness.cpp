#include "bench/harness.hpp"

#include <algorithm>
#include <cstdio>

namespace zrelay::bench {

double rate(const Measurement& m) { return m.seconds > 0 ? static_cast<double>(m.messages) / m.seconds : 0; }

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

namespace {

std::string size_text(std::size_t size) {
  if (size >= (1u << 20)) return std::to_string(size >> 20) + " MiB";
  if (size >= 1024) return std::to_string(size >> 10) + " KiB";
  return std::to_string(size) + " B";
}

std::string measure_text(const std::optional<Measurement>& m, bool latency) {
  char text[96];
  if (!m) return "n/a";
  if (latency) {
    std::snprintf(text, sizeof text, "p50 %.0f p99 %.0f p99.9 %.0f us", percentile(m->latencies_us, 0.5),
                  percentile(m->latencies_us, 0.99), percentile(m->latencies_us, 0.999));
  } else {
    std::snprintf(text, sizeof text, "%.0f msg/s %.1f MB/s", rate(*m), rate(*m) * static_cast<double>(m->bytes) / 1e6 /
                                                                              std::max<double>(1, static_cast<double>(m->messages)));
  }
  return text;
}

std::string ratio_text(const std::optional<Measurement>& a, const std::optional<Measurement>& b, bool latency) {
  if (!a || !b) return "-";
  char text[16];
  const double r = latency ? percentile(a->latencies_us, 0.5) / std::max(1e-9, percentile(b->latencies_us, 0.5))
                           : rate(*a) / std::max(1e-9, rate(*b));
  std::snprintf(text, sizeof text, "%.2f", r);
  return text;
}

}  // namespace

void print_header() {
  std::printf("| workload | size | security | zrelay | bare forwarder | direct link | zrelay/forwarder | zrelay/direct |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
}

void print_cell(const Cell& cell) {
  const bool latency = cell.workload.rfind("round trip", 0) == 0;
  std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", cell.workload.c_str(), size_text(cell.size).c_str(),
              cell.curve ? "CURVE" : "plain", measure_text(cell.zrelay, latency).c_str(),
              measure_text(cell.forwarder, latency).c_str(), measure_text(cell.direct, latency).c_str(),
              ratio_text(cell.zrelay, cell.forwarder, latency).c_str(), ratio_text(cell.zrelay, cell.direct, latency).c_str());
  std::fflush(stdout);
}

}  // namespace zrelay::bench
