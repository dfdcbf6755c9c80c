#pragma once
// `zrelay consume GROUP`: takes items of the group's work queue and prints each as one line.
// An item is acknowledged only once its line was written, so an item that could not be
// written goes back to the queue when this command ends.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>
#include <zrelay/endpoint.hpp>

#include "tools/cli_options.hpp"

namespace zrelay::cli {

class ConsumeCommand {
 public:
  explicit ConsumeCommand(CLI::App& parent);

  [[nodiscard]] bool chosen() const { return command_->parsed(); }
  int run() const;

 private:
  [[nodiscard]] std::uint64_t wanted() const;

  CLI::App* command_;
  ClientOptions client_;
  std::string group_;
  std::uint64_t count_ = 1;
  bool forever_ = false;
};

}  // namespace zrelay::cli
