#pragma once
// `zrelay listen GROUP...`: joins the groups and prints each broadcast as one line as it comes
// (first each group's last value, if it has one), until SIGINT, SIGTERM or -n broadcasts.
#include <cstddef>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/cli_options.hpp"

namespace zrelay::cli {

class ListenCommand {
 public:
  explicit ListenCommand(CLI::App& parent);

  [[nodiscard]] bool chosen() const { return command_->parsed(); }
  int run() const;

 private:
  CLI::App* command_;
  ClientOptions client_;
  std::vector<std::string> groups_;
  std::size_t count_ = 0;  // 0: until stopped
  bool group_prefix_ = false;
};

}  // namespace zrelay::cli
