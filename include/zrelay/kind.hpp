#pragma once
#include <cstdint>

namespace zrelay {

// How an object reached this endpoint: a group's broadcast, or an item of its work queue.
enum class Kind : std::uint8_t { broadcast = 1, produced = 2 };

}  // namespace zrelay
