#include "tools/listen_command.hpp"

#include <algorithm>
#include <limits>

#include "tools/line_writer.hpp"
#include "tools/progress_line.hpp"
#include "tools/stop_signals.hpp"

namespace zrelay::cli {
namespace {

// How long one wait for broadcasts lasts before the loop looks for a stop signal again.
constexpr Timeout signal_poll{100};
constexpr std::size_t batch = 64;

}  // namespace

ListenCommand::ListenCommand(CLI::App& parent)
    : command_(parent.add_subcommand("listen", "print each broadcast of the groups as one line")),
      client_(*command_, "zrelay listen") {
  command_->add_option("GROUP", groups_, "the groups to join")->required()->check(group_name());
  command_->add_option("-n,--count", count_, "exit after this many broadcasts (default: run until SIGINT or SIGTERM)")
      ->check(CLI::PositiveNumber);
  command_->add_flag("--group-prefix", group_prefix_, "print GROUP, a tab, then the payload");
}

int ListenCommand::run() const {
  StopSignals signals;  // before the endpoint starts its threads
  Endpoint endpoint = client_.connect(groups_, AckMode::on_take);
  ProgressLine progress(endpoint);
  LineWriter out;
  const std::size_t wanted = count_ == 0 ? std::numeric_limits<std::size_t>::max() : count_;
  std::size_t printed = 0;
  while (printed < wanted && !signals.requested()) {
    for (const Message& message : endpoint.pop(std::min(batch, wanted - printed), signal_poll)) {
      if (message.kind() != Kind::broadcast) continue;
      out.write(group_prefix_ ? std::string_view(message.group()) : std::string_view(), message.text());
      ++printed;
    }
  }
  endpoint.stop();
  return 0;
}

}  // namespace zrelay::cli
