#pragma once
// `zrelay broadcast GROUP [MESSAGE...]` and `zrelay produce GROUP [ITEM...]`: each argument, or
// else each line of stdin, is sent as raw bytes; the command returns once the broker confirmed
// it handled all of them, non-zero if it refused any.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <zrelay/endpoint.hpp>

#include "tools/cli_options.hpp"

namespace zrelay::cli {

class SendCommand {
 public:
  enum class Mode { broadcast, produce };

  SendCommand(CLI::App& parent, Mode mode);

  [[nodiscard]] bool chosen() const { return command_->parsed(); }
  int run() const;

 private:
  void send(Endpoint& endpoint, const std::string& item) const;

  Mode mode_;
  CLI::App* command_;
  ClientOptions client_;
  std::string group_;
  std::vector<std::string> items_;
  unsigned copies_ = 1;
};

}  // namespace zrelay::cli
