#pragma once
// Lines of a stream as items: without the '\n' and without the '\r' of a CRLF line ending; a
// last line without '\n' counts too. Any other bytes are kept as they are.
#include <istream>
#include <string>

namespace zrelay::cli {

class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}

  // The next line into `line`; false at the end of the input.
  bool next(std::string& line);

 private:
  std::istream& in_;
};

}  // namespace zrelay::cli
