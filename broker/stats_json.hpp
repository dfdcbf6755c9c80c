#pragma once
// BrokerStatistics as the JSON document of the STATS-REPLY message (docs/operations.md).
#include <string>

#include <zrelay/broker_stats.hpp>

namespace zrelay::broker {

[[nodiscard]] std::string to_json(const BrokerStatistics& stats);

}  // namespace zrelay::broker
