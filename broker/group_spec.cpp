#include "broker/group_spec.hpp"

#include <charconv>
#include <vector>

#include "protocol/codec.hpp"

namespace zrelay::broker {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t at = text.find(separator); at != std::string::npos; at = text.find(separator, start)) {
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
  parts.push_back(text.substr(start));
  return parts;
}

std::size_t number(const std::string& text, const std::string& spec) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw Error(ErrorCode::configuration, "group '" + spec + "': '" + text + "' is not a number");
  }
  return value;
}

}  // namespace

GroupOptions parse_group_spec(const std::string& spec) {
  const auto parts = split(spec, ':');
  if (parts.size() > 4 || !protocol::valid_group(parts[0])) {
    throw Error(ErrorCode::configuration,
                "group '" + spec + "': expected NAME[:MAX_COUNT[:MAX_CONSUMABLES[:refuse|drop-oldest]]]");
  }
  GroupOptions group;
  group.name = parts[0];
  if (parts.size() > 1) group.max_count = number(parts[1], spec);
  if (parts.size() > 2) group.max_consumables = number(parts[2], spec);
  if (parts.size() > 3) {
    if (parts[3] == "drop-oldest") {
      group.overflow = Overflow::drop_oldest;
    } else if (parts[3] != "refuse") {
      throw Error(ErrorCode::configuration, "group '" + spec + "': policy must be refuse or drop-oldest");
    }
  }
  return group;
}

}  // namespace zrelay::broker
