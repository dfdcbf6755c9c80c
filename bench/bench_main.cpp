// zrelay-bench: each workload through zrelay and through two plain-libzmq references in the
// same run, printed as a Markdown table (docs/benchmarks.md says how to read it).
#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "bench/harness.hpp"
#include "bench/reference.hpp"
#include "bench/zrelay_runs.hpp"

namespace {

using namespace zrelay::bench;

struct Settings {
  bool quick = false;  // tiny counts: checks that everything runs
  bool plain = true;   // also the references without CURVE (zrelay has no plaintext mode)
  std::vector<std::size_t> sizes{64, 1024, 64 * 1024, 1024 * 1024};
  std::set<std::string> workloads{"queue", "fanout", "rtt", "groups", "endpoints"};
  std::uint64_t megabytes = 128;  // data per throughput cell, within [200, max_messages] messages
  std::uint64_t max_messages = 100000;
  std::vector<int> consumers{1, 4};
  std::vector<int> windows{1, 16, 256};
  std::size_t many_max_size = 64 * 1024;  // groups and endpoints workloads: larger sizes only cost time
  std::set<std::string> systems{"zrelay", "forwarder", "direct"};  // fewer: for profiling one
  [[nodiscard]] bool runs(const char* system) const { return systems.count(system) != 0; }
};

std::uint64_t throughput_count(const Settings& s, std::size_t size) {
  if (s.quick) return 50;
  return std::clamp<std::uint64_t>((s.megabytes << 20) / size, 200, s.max_messages);
}

std::uint64_t round_trip_count(const Settings& s, std::size_t size) {
  if (s.quick) return 20;
  return std::clamp<std::uint64_t>((32ull << 20) / size, 100, 20000);
}

void run_queue(const Settings& s) {
  for (const std::size_t size : s.sizes) {
    for (const int consumers : s.consumers) {
      for (const int window : s.windows) {
        // One credit at a time is a round trip per item: a tenth of the messages is plenty.
        const std::uint64_t count = std::max<std::uint64_t>(throughput_count(s, size) / (window == 1 ? 10 : 1), s.quick ? 20 : 200);
        for (const bool curve : {true, false}) {
          if (!curve && !s.plain) continue;
          Cell cell{"queue c=" + std::to_string(consumers) + " w=" + std::to_string(window), size, curve, {}, {}, {}};
          const Security security = Security::make(curve);
          if (curve && s.runs("zrelay")) cell.zrelay = zrelay_queue(size, count, consumers, window);
          if (s.runs("forwarder")) cell.forwarder = forwarder_queue(security, size, count, consumers, window);
          if (window == 256 && s.runs("direct")) cell.direct = direct_queue(security, size, count, consumers);  // no credits there
          print_cell(cell);
        }
        if (consumers == 1 && window == 256 && s.runs("zrelay")) {  // the cost of a durable group, beside the row above
          Cell durable{"durable queue c=1 w=256", size, true, {}, {}, {}};
          durable.zrelay = zrelay_queue(size, count, consumers, window, true);
          print_cell(durable);
        }
      }
    }
  }
}

void run_fanout(const Settings& s) {
  for (const std::size_t size : s.sizes) {
    const std::uint64_t count = std::max<std::uint64_t>(throughput_count(s, size) / 4, s.quick ? 20 : 100);
    for (const int subscribers : {1, 4, 16}) {
      for (const bool curve : {true, false}) {
        if (!curve && !s.plain) continue;
        Cell cell{"fan-out s=" + std::to_string(subscribers), size, curve, {}, {}, {}};
        const Security security = Security::make(curve);
        if (curve && s.runs("zrelay")) cell.zrelay = zrelay_fanout(size, count, subscribers);
        if (s.runs("forwarder")) cell.forwarder = forwarder_fanout(security, size, count, subscribers);
        if (s.runs("direct")) cell.direct = direct_fanout(security, size, count, subscribers);
        print_cell(cell);
      }
    }
  }
}

void run_round_trip(const Settings& s) {
  for (const std::size_t size : s.sizes) {
    const std::uint64_t count = round_trip_count(s, size);
    for (const bool curve : {true, false}) {
      if (!curve && !s.plain) continue;
      Cell cell{"round trip", size, curve, {}, {}, {}};
      const Security security = Security::make(curve);
      if (curve && s.runs("zrelay")) cell.zrelay = zrelay_round_trip(size, count);
      if (s.runs("forwarder")) cell.forwarder = forwarder_round_trip(security, size, count);
      if (s.runs("direct")) cell.direct = direct_round_trip(security, size, count);
      print_cell(cell);
    }
  }
}

// 1000 groups: the references have no groups, so they run their best single queue (w=256).
void run_groups(const Settings& s) {
  constexpr int groups = 1000;
  for (const std::size_t size : s.sizes) {
    if (size > s.many_max_size) continue;
    const std::uint64_t count = throughput_count(s, size);
    Cell cell{"queue 1000 groups w=16", size, true, {}, {}, {}};
    const Security security = Security::make(true);
    if (s.runs("zrelay")) cell.zrelay = zrelay_queue_groups(size, count, groups, 16);
    if (s.runs("forwarder")) cell.forwarder = forwarder_queue(security, size, count, 1, 256);
    if (s.runs("direct")) cell.direct = direct_queue(security, size, count, 1);
    print_cell(cell);
  }
}

// 200 endpoints: consumers of one queue, and subscribers of one group.
void run_endpoints(const Settings& s) {
  constexpr int many = 200;
  for (const std::size_t size : s.sizes) {
    if (size > s.many_max_size) continue;
    const std::uint64_t count = throughput_count(s, size);
    const Security security = Security::make(true);
    Cell queue{"queue c=200 w=16", size, true, {}, {}, {}};
    if (s.runs("zrelay")) queue.zrelay = zrelay_queue(size, count, many, 16);
    if (s.runs("forwarder")) queue.forwarder = forwarder_queue(security, size, count, many, 16);
    print_cell(queue);
    const std::uint64_t broadcasts = std::max<std::uint64_t>(count / many, s.quick ? 5 : 20);
    Cell fanout{"fan-out s=200", size, true, {}, {}, {}};
    if (s.runs("zrelay")) fanout.zrelay = zrelay_fanout(size, broadcasts, many);
    if (s.runs("forwarder")) fanout.forwarder = forwarder_fanout(security, size, broadcasts, many);
    if (s.runs("direct")) fanout.direct = direct_fanout(security, size, broadcasts, many);
    print_cell(fanout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("zrelay-bench: zrelay against a bare libzmq forwarder and a direct link, in one run");
  Settings s;
  app.add_flag("--quick", s.quick, "tiny counts: only checks that every workload runs");
  app.add_flag("!--no-plain", s.plain, "skip the plaintext references");
  app.add_option("--size", s.sizes, "payload sizes in bytes (repeat)")->capture_default_str();
  app.add_option("--workload", s.workloads, "queue, fanout, rtt, groups, endpoints (repeat)")->capture_default_str();
  app.add_option("--system", s.systems, "zrelay, forwarder, direct (repeat; default all)")->capture_default_str();
  app.add_option("--consumers", s.consumers, "queue: consumer counts (repeat)")->capture_default_str();
  app.add_option("--window", s.windows, "queue: credit windows (repeat)")->capture_default_str();
  app.add_option("--megabytes", s.megabytes, "data per throughput cell")->capture_default_str();
  app.add_option("--max-messages", s.max_messages, "messages per throughput cell at most")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::err);  // the embedded broker's per-connection lines would drown the table

  print_header();
  if (s.workloads.count("queue") != 0) run_queue(s);
  if (s.workloads.count("fanout") != 0) run_fanout(s);
  if (s.workloads.count("rtt") != 0) run_round_trip(s);
  if (s.workloads.count("groups") != 0) run_groups(s);
  if (s.workloads.count("endpoints") != 0) run_endpoints(s);
  return 0;
}
