#pragma once
// The broker's TOML config file (docs/configuration.md) read into a BrokerConfig.
#include <filesystem>
#include <string>
#include <string_view>

#include "broker/broker_config.hpp"

namespace zrelay::broker {

// Sets the fields the file names and leaves the others as they are. Throws
// Error(configuration) with "FILE:LINE:COLUMN: what is wrong" for syntax errors, unknown keys,
// values of the wrong type or out of range, and malformed rules.
void read_config_file(const std::filesystem::path& file, BrokerConfig& config);
// The same for text already in memory; `name` stands for the file in error messages.
void read_config_text(std::string_view text, const std::string& name, BrokerConfig& config);

}  // namespace zrelay::broker
