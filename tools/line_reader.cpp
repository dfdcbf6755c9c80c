#include "tools/line_reader.hpp"

namespace zrelay::cli {

bool LineReader::next(std::string& line) {
  if (!std::getline(in_, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

}  // namespace zrelay::cli
