#pragma once
// `zrelay stats`: prints the broker's statistics (groups and sessions) as one JSON document.
// The client's key needs the stats right (zrelay-broker --admin NAME, or an authorization rule).
#include <CLI/CLI.hpp>

#include "tools/cli_options.hpp"

namespace zrelay::cli {

class StatsCommand {
 public:
  explicit StatsCommand(CLI::App& parent);

  [[nodiscard]] bool chosen() const { return command_->parsed(); }
  int run() const;

 private:
  CLI::App* command_;
  ClientOptions client_;
};

}  // namespace zrelay::cli
