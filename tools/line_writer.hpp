#pragma once
// Writes one line per payload to stdout with write(2), unbuffered: once write() returned, the line
// is out of this process (what the consume command waits for before it acknowledges an item).
#include <string>
#include <string_view>

namespace zrelay::cli {

class LineWriter {
 public:
  // `prefix` and a tab if `prefix` is not empty, then `payload` as it is, then '\n'.
  // Throws Failure (exit code 74) if stdout cannot take it.
  void write(std::string_view prefix, std::string_view payload);

 private:
  std::string line_;
};

}  // namespace zrelay::cli
