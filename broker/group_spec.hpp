#pragma once
#include <string>

#include <zrelay/broker_options.hpp>

namespace zrelay::broker {

// Parses NAME[:MAX_COUNT[:MAX_CONSUMABLES[:refuse|drop-oldest]]]; throws ErrorCode::configuration.
[[nodiscard]] GroupOptions parse_group_spec(const std::string& spec);

}  // namespace zrelay::broker
