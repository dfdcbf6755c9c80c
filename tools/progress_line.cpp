#include "tools/progress_line.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace zrelay::cli {
namespace {

constexpr std::uint64_t shown_from = 4'000'000;  // bytes: smaller objects cross too fast to watch

std::string line_of(const char* what, std::uint64_t done, std::uint64_t total) {
  char text[96];
  std::snprintf(text, sizeof text, "zrelay: %s %.1f of %.1f MB (%d %%)", what, static_cast<double>(done) / 1e6,
                static_cast<double>(total) / 1e6, static_cast<int>(done * 100 / total));
  return text;
}

void write_all(int fd, const std::string& bytes) {
  for (std::size_t at = 0; at < bytes.size();) {
    const ssize_t put = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (put <= 0) return;  // a progress line is not worth an error
    at += static_cast<std::size_t>(put);
  }
}

}  // namespace

std::optional<std::string> progress_text(const TransferProgress& p) {
  std::string text;
  if (p.sending_total >= shown_from) text = line_of("sending", p.sending_done, p.sending_total);
  if (p.receiving_total >= shown_from) {
    text += (text.empty() ? "" : ", ") + line_of("receiving", p.receiving_done, p.receiving_total).substr(text.empty() ? 0 : 8);
  }
  if (text.empty()) return std::nullopt;
  return text;
}

ProgressLine::ProgressLine(const Endpoint& endpoint, int fd) : endpoint_(endpoint), fd_(fd) {
  if (::isatty(fd_) == 1) thread_ = std::thread([this] { run(); });
}

ProgressLine::~ProgressLine() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::run() {
  bool drawn = false;
  while (!stop_.load()) {
    const auto text = progress_text(endpoint_.statistics().transfers);
    if (text) write_all(fd_, "\r" + *text + "\x1b[K");
    if (!text && drawn) write_all(fd_, "\r\x1b[K");
    drawn = text.has_value();
    for (int i = 0; i < 20 && !stop_.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (drawn) write_all(fd_, "\r\x1b[K");
}

}  // namespace zrelay::cli
