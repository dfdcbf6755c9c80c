#include "tools/stats_command.hpp"

#include <iostream>

#include "tools/cli_failure.hpp"

namespace zrelay::cli {

StatsCommand::StatsCommand(CLI::App& parent)
    : command_(parent.add_subcommand("stats", "print the broker's statistics as JSON (needs the stats right)")),
      client_(*command_, "zrelay stats") {}

int StatsCommand::run() const {
  Endpoint endpoint = client_.connect({}, AckMode::on_take);
  const std::string json = endpoint.broker_statistics(client_.timeout());
  std::cout << json << '\n' << std::flush;
  if (!std::cout) throw Failure{exit_code::io, "cannot write to stdout"};
  endpoint.stop();
  return 0;
}

}  // namespace zrelay::cli
