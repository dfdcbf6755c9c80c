#include "tests/support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace zrelay::testing {
namespace {

// A socket rather than a pipe: MSG_NOSIGNAL turns a child that exited without reading into an
// error here instead of a SIGPIPE that would end the test program.
void write_input(int fd, const std::string& input) {
  std::size_t sent = 0;
  while (sent < input.size()) {
    const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace

Process::Process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 const std::optional<std::string>& input) {
  // Everything the child needs is prepared before fork: other threads may hold the malloc lock.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;  // the extra entries first: getenv takes the first match
  for (const auto& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  int in[2] = {-1, -1};
  if (input && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) throw std::runtime_error("socketpair failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (input) dup2(in[1], STDIN_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  out_ = fds[0];
  reader_ = std::thread([this] { drain(); });
  if (input) {
    close(in[1]);
    write_input(in[0], *input);
    close(in[0]);
  }
}

Process::~Process() {
  if (!status_) {
    kill(pid_, SIGKILL);
    (void)wait(std::chrono::seconds(10));
  }
  stopping_.store(true);
  reader_.join();
  close(out_);
}

void Process::drain() {
  char chunk[4096];
  while (!stopping_.load()) {
    pollfd item{out_, POLLIN, 0};
    if (poll(&item, 1, 100) <= 0) continue;  // looks at stopping_ now and then
    const ssize_t n = ::read(out_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mutex_);
    if (n <= 0) {
      ended_ = true;
      changed_.notify_all();
      return;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    seen_.append(chunk, static_cast<std::size_t>(n));
    changed_.notify_all();
  }
}

std::string Process::output() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const auto line_ready = [this] { return buffer_.find('\n') != std::string::npos || ended_; };
  if (!changed_.wait_for(lock, timeout, line_ready)) return std::nullopt;
  const auto end = buffer_.find('\n');
  if (end == std::string::npos) return std::nullopt;  // ended without another line
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 1);
  return line;
}

std::optional<std::string> Process::read_until(const std::function<bool(const std::string&)>& wanted,
                                               std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    auto line = read_line(left);
    if (!line) return std::nullopt;
    if (wanted(*line)) return line;
  }
  return std::nullopt;
}

std::optional<std::string> Process::wait_for(const std::string& prefix, std::chrono::milliseconds timeout) {
  auto line = read_until([&](const std::string& l) { return l.rfind(prefix, 0) == 0; }, timeout);
  if (!line) return std::nullopt;
  return line->substr(prefix.size());
}

std::optional<std::string> Process::wait_for_text(const std::string& text, std::chrono::milliseconds timeout) {
  return read_until([&](const std::string& l) { return l.find(text) != std::string::npos; }, timeout);
}

void Process::signal(int number) { kill(pid_, number); }

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto until = std::chrono::steady_clock::now() + timeout;
  do {
    int raw = 0;
    const pid_t done = waitpid(pid_, &raw, WNOHANG);
    if (done == pid_) {
      status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      return status_;
    }
    // Polling a child's exit has no descriptor to wait on; 10 ms steps under a deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < until);
  return std::nullopt;
}

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  return run(argv, {}, std::nullopt, timeout);
}

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              const std::optional<std::string>& input, std::chrono::milliseconds timeout) {
  Process process(argv, env, input);
  while (process.read_line(timeout)) {
  }
  RunResult result;
  result.status = process.wait(timeout).value_or(-1);
  result.output = process.output();
  return result;
}

}  // namespace zrelay::testing
