#include "tools/line_writer.hpp"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "tools/cli_failure.hpp"

namespace zrelay::cli {

void LineWriter::write(std::string_view prefix, std::string_view payload) {
  line_.clear();
  if (!prefix.empty()) {
    line_.append(prefix);
    line_.push_back('\t');
  }
  line_.append(payload);
  line_.push_back('\n');
  std::string_view left = line_;
  while (!left.empty()) {
    const ssize_t written = ::write(STDOUT_FILENO, left.data(), left.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) throw Failure{exit_code::io, std::string("cannot write to stdout: ") + std::strerror(errno)};
    left.remove_prefix(static_cast<std::size_t>(written));
  }
}

}  // namespace zrelay::cli
