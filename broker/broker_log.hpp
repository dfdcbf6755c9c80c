#pragma once
// The embedded broker's own logger (never spdlog's default one, which belongs to the
// application): lines go to BrokerOptions::log_sink, or to standard error with a time stamp.
#include <memory>

#include <spdlog/logger.h>
#include <zrelay/log.hpp>

namespace zrelay::broker {

[[nodiscard]] std::shared_ptr<spdlog::logger> make_logger(LogLevel level, LogSink sink);

}  // namespace zrelay::broker
