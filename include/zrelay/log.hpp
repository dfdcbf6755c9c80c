#pragma once
// Where an embedded Broker's log lines go (BrokerOptions::log_level, log_sink).
#include <cstdint>
#include <functional>
#include <string_view>

namespace zrelay {

enum class LogLevel : std::uint8_t { debug, info, warning, error, critical, off };

// Called with each line that passes the level, from the broker's own threads (its loop and its
// ZAP handler, one call at a time), without a time stamp or a newline. It must not block for
// long: the broker's loop waits for it.
using LogSink = std::function<void(LogLevel level, std::string_view line)>;

}  // namespace zrelay
