#include "tools/consume_command.hpp"

#include <algorithm>
#include <limits>

#include "tools/cli_failure.hpp"
#include "tools/line_writer.hpp"
#include "tools/progress_line.hpp"
#include "tools/refusal_report.hpp"
#include "tools/stop_signals.hpp"

namespace zrelay::cli {
namespace {

constexpr Timeout signal_poll{100};
// Credits asked for at most ahead of what was printed: enough to save round trips, few enough
// that one consumer does not hold items other consumers could be working on.
constexpr std::uint64_t credit_window = 16;

// Asks for more items while fewer than half the window are on their way, never beyond `wanted`.
class Credits {
 public:
  Credits(Endpoint& endpoint, const std::string& group, std::uint64_t wanted)
      : endpoint_(endpoint), group_(group), wanted_(wanted) {}

  void top_up(std::uint64_t printed) {
    const std::uint64_t on_the_way = requested_ - printed;
    if (requested_ == wanted_ || on_the_way > credit_window / 2) return;
    const std::uint64_t more = std::min(credit_window - on_the_way, wanted_ - requested_);
    endpoint_.notify(group_, static_cast<int>(more));
    requested_ += more;
  }

 private:
  Endpoint& endpoint_;
  const std::string& group_;
  std::uint64_t wanted_;
  std::uint64_t requested_ = 0;
};

}  // namespace

ConsumeCommand::ConsumeCommand(CLI::App& parent)
    : command_(parent.add_subcommand("consume", "take items of a group's work queue and print each as one line")),
      client_(*command_, "zrelay consume") {
  command_->add_option("GROUP", group_, "the group")->required()->check(group_name());
  auto* count = command_->add_option("-n,--count", count_, "exit after this many items")
                    ->check(CLI::PositiveNumber)
                    ->capture_default_str();
  command_->add_flag("--forever", forever_, "take items until SIGINT or SIGTERM")->excludes(count);
}

std::uint64_t ConsumeCommand::wanted() const {
  return forever_ ? std::numeric_limits<std::uint64_t>::max() : count_;
}

int ConsumeCommand::run() const {
  StopSignals signals;  // before the endpoint starts its threads
  Endpoint endpoint = client_.connect({group_}, AckMode::manual);
  ProgressLine progress(endpoint);
  LineWriter out;
  RefusalReport refusals;
  Credits credits(endpoint, group_, wanted());
  std::uint64_t printed = 0;
  while (printed < wanted() && !signals.requested()) {
    credits.top_up(printed);
    for (const Message& message : endpoint.pop(credit_window, signal_poll)) {
      // Joining the group brings its broadcasts too; and an item beyond the count (possible only
      // after a lost session) stays unacknowledged, so it goes back to the queue.
      if (message.kind() != Kind::produced || printed == wanted()) continue;
      out.write({}, message.text());
      endpoint.ack(message);
      ++printed;
    }
    refusals.collect(endpoint);
    if (refusals.any()) break;
  }
  endpoint.stop();
  return refusals.any() ? exit_code::unavailable : 0;
}

}  // namespace zrelay::cli
