#pragma once
// zrelay_test_peer (tests/peer/) as a child process, and what fault tests read off processes.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "tests/support/process.hpp"

namespace zrelay::testing {

struct PeerItem {
  std::uint64_t delivery_id = 0;
  std::uint32_t attempt = 0;
  std::string text;
};

// A consumer in its own process: joins `group`, gives `credits`, prints what it gets.
// ack_after_ms < 0: it never acknowledges (it holds the items until it dies).
inline std::unique_ptr<Process> start_consumer(const std::string& broker, const std::string& broker_key,
                                               const std::filesystem::path& cert, const std::string& group,
                                               int credits, int ack_after_ms) {
  return std::make_unique<Process>(std::vector<std::string>{
      ZRELAY_TEST_PEER_PATH, "consume", "--broker", broker, "--broker-key", broker_key, "--cert", cert.string(),
      "--group", group, "--credits", std::to_string(credits), "--ack-after-ms", std::to_string(ack_after_ms)});
}

// Reads the peer's next "got ID ATTEMPT TEXT" line.
inline std::optional<PeerItem> next_item(Process& peer, std::chrono::milliseconds timeout) {
  const auto line = peer.wait_for("got ", timeout);
  if (!line) return std::nullopt;
  std::istringstream in(*line);
  PeerItem item;
  in >> item.delivery_id >> item.attempt >> item.text;
  return item;
}

// Memory of a process from /proc/PID/status: "VmRSS:" now, "VmHWM:" its peak so far.
// CPU time (user + system) a process has used so far, from /proc/PID/stat.
inline std::chrono::milliseconds cpu_time(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return std::chrono::milliseconds((utime + stime) * 1000 / static_cast<std::uint64_t>(::sysconf(_SC_CLK_TCK)));
}

inline std::uint64_t memory_bytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == field) {
      std::uint64_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(4096, '\n');
  }
  return 0;
}

}  // namespace zrelay::testing
