#pragma once
// A child process (the real zrelay-broker, zrelay-keygen or zrelay) with its stdout read line by
// line under a deadline. Killed with SIGKILL if still running when destroyed. Its output is
// drained all the time by a thread of its own: a chatty broker must never block on a full pipe
// while a test is busy elsewhere.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace zrelay::testing {

class Process {
 public:
  // Starts `argv[0]` with `argv`, extra environment `env` ("NAME=value"), stdout+stderr piped.
  // With `input`, stdin reads that text and then ends; it is written before the constructor
  // returns, so keep it within a socket buffer (some 100 KiB) unless the child reads it at once.
  // Without, the child shares this process's stdin.
  Process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
          const std::optional<std::string>& input = std::nullopt);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The next output line, or nothing if none came before the deadline or the output ended.
  [[nodiscard]] std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Reads lines until one starts with `prefix`; returns the rest of that line.
  [[nodiscard]] std::optional<std::string> wait_for(const std::string& prefix, std::chrono::milliseconds timeout);
  // Reads lines until one contains `text` (log lines start with a timestamp); returns that line.
  [[nodiscard]] std::optional<std::string> wait_for_text(const std::string& text, std::chrono::milliseconds timeout);
  // Everything the process wrote so far.
  [[nodiscard]] std::string output() const;

  void signal(int number);
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // The exit status (or 128 + signal), or nothing if it did not exit in time.
  [[nodiscard]] std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  void drain();  // the reader thread
  // Reads lines until one is `wanted`; returns it.
  [[nodiscard]] std::optional<std::string> read_until(const std::function<bool(const std::string&)>& wanted,
                                                      std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int out_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string buffer_;  // not yet returned by read_line
  std::string seen_;    // everything
  bool ended_ = false;  // the output reached its end
  std::atomic<bool> stopping_{false};
  std::thread reader_;
  std::optional<int> status_;
};

// Runs a program to completion (at most `timeout`) and returns its exit status and output.
struct RunResult {
  int status = -1;
  std::string output;
};
[[nodiscard]] RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(30));
[[nodiscard]] RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                            const std::optional<std::string>& input,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace zrelay::testing
