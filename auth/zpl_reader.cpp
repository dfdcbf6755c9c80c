#include "auth/zpl_reader.hpp"

#include <algorithm>

#include <zrelay/error.hpp>

namespace zrelay::auth {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view trim_left(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  return text;
}

}  // namespace

const ZplNode* ZplNode::child(std::string_view child_name) const {
  auto found = std::find_if(children.begin(), children.end(), [&](const ZplNode& c) { return c.name == child_name; });
  return found == children.end() ? nullptr : &*found;
}

std::size_t ZplNode::count(std::string_view child_name) const {
  return static_cast<std::size_t>(
      std::count_if(children.begin(), children.end(), [&](const ZplNode& c) { return c.name == child_name; }));
}

bool ZplReader::is_name_char(char c) noexcept {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return alnum || std::string_view("$-_@.&+/").find(c) != std::string_view::npos;
}

ZplNode ZplReader::parse(std::string_view text) const {
  ZplNode root;
  root.name = "root";
  // open[d] is the latest node at depth d; a line indented by 4*L spaces becomes a child of open[L].
  std::vector<ZplNode*> open{&root};
  int number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    parse_line(line, ++number, open);
  }
  return root;
}

void ZplReader::parse_line(std::string_view line, int number, std::vector<ZplNode*>& open) const {
  if (line.find('\0') != std::string_view::npos) fail(number, "NUL byte in text");
  line = trim_right(line);
  const std::size_t indent = std::min(line.find_first_not_of(' '), line.size());
  if (indent % 4 != 0) fail(number, "indentation must be a multiple of 4 spaces");
  line.remove_prefix(indent);
  const std::size_t name_length =
      std::find_if_not(line.begin(), line.end(), is_name_char) - line.begin();
  const std::string_view name = line.substr(0, name_length);
  if (name.empty()) return expect_end(line, number);
  if (name.front() == '/' || name.back() == '/') fail(number, "'/' is not valid at the start or end of a name");

  const std::size_t level = indent / 4;
  if (level >= open.size()) fail(number, "indentation error (no parent at this depth)");
  std::string value = parse_value(line.substr(name_length), number);
  ZplNode* parent = open[level];
  parent->children.push_back(ZplNode{std::string(name), std::move(value), number, {}});
  open.resize(level + 1);
  open.push_back(&parent->children.back());
}

std::string ZplReader::parse_value(std::string_view rest, int number) const {
  rest = trim_left(rest);
  if (rest.empty() || rest.front() != '=') {
    expect_end(rest, number);
    return {};
  }
  rest = trim_left(rest.substr(1));
  if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
    const std::size_t close = rest.find(rest.front(), 1);
    if (close == std::string_view::npos) fail(number, std::string("missing closing ") + rest.front());
    expect_end(rest.substr(close + 1), number);
    return std::string(rest.substr(1, close - 1));
  }
  return std::string(trim_right(rest.substr(0, rest.find('#'))));
}

void ZplReader::expect_end(std::string_view rest, int number) const {
  rest = trim_left(rest);
  if (!rest.empty() && rest.front() != '#') fail(number, "invalid syntax '" + std::string(rest) + "'");
}

void ZplReader::fail(int number, const std::string& message) const {
  throw Error(ErrorCode::certificate, source_ + ":" + std::to_string(number) + ": " + message);
}

}  // namespace zrelay::auth
