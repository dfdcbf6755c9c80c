#pragma once
// The stable identity of an object on its way through the broker: which endpoint sent it (a
// random id each Endpoint picks when it is created), its seq at that endpoint, and which copy
// (0 for a broadcast, 1..copies for produced items). The same object delivered again (its
// holder died, its session was lost) has the same ObjectId: consumers deduplicate on it.
#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace zrelay {

using EndpointId = std::array<std::uint8_t, 16>;

struct ObjectId {
  EndpointId producer{};  // all zero: a client that sent no endpoint id (no deduplication)
  std::uint64_t seq = 0;
  std::uint32_t copy = 0;

  friend auto operator<=>(const ObjectId&, const ObjectId&) = default;

  // "<32 hex digits of producer>:<seq>:<copy>", for logs and keys.
  [[nodiscard]] std::string to_string() const {
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    for (const std::uint8_t byte : producer) {
      text += hex[byte >> 4];
      text += hex[byte & 0xF];
    }
    return text + ':' + std::to_string(seq) + ':' + std::to_string(copy);
  }
};

}  // namespace zrelay

template <>
struct std::hash<zrelay::ObjectId> {
  std::size_t operator()(const zrelay::ObjectId& id) const noexcept {
    std::size_t h = std::hash<std::uint64_t>{}(id.seq) ^ (std::hash<std::uint32_t>{}(id.copy) << 1);
    for (const std::uint8_t byte : id.producer) h = h * 131 + byte;
    return h;
  }
};
