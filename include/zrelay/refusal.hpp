#pragma once
#include <cstdint>
#include <string>

#include <zrelay/error.hpp>

namespace zrelay {

// The broker's answer to something this endpoint sent and it did not take (or took and later
// dropped): the `seq` is what broadcast()/produce() returned for that object.
struct Refusal {
  ErrorCode code = ErrorCode::ok;
  std::uint64_t seq = 0;
  std::string group;
  std::string text;
};

}  // namespace zrelay
