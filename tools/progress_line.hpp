#pragma once
// A progress line on stderr for objects of over 4 MB on their way, when stderr is a terminal:
// "zrelay: sending 12.0 of 40.0 MB (30 %)", redrawn five times a second from the endpoint's
// statistics (EndpointStatistics::transfers) by a thread of its own while the command waits
// in sync(), pop() or stop(); erased when it ends. Nothing is written when stderr is not a
// terminal (a pipe or a file keeps only the command's own messages).
#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include <zrelay/endpoint.hpp>

namespace zrelay::cli {

// The line for `progress`, or nothing if no object over 4 MB is on its way.
[[nodiscard]] std::optional<std::string> progress_text(const TransferProgress& progress);

class ProgressLine {
 public:
  // Draws for `endpoint` (which must outlive this) on file descriptor `fd` if it is a terminal.
  explicit ProgressLine(const Endpoint& endpoint, int fd = 2);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine();

 private:
  void run();

  const Endpoint& endpoint_;
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace zrelay::cli
