#include "tools/send_command.hpp"

#include <iostream>

#include "tools/cli_failure.hpp"
#include "tools/line_reader.hpp"
#include "tools/progress_line.hpp"
#include "tools/refusal_report.hpp"

namespace zrelay::cli {
namespace {

CLI::App* add_command(CLI::App& parent, SendCommand::Mode mode) {
  if (mode == SendCommand::Mode::broadcast) {
    return parent.add_subcommand("broadcast", "set a group's last value and send it to every member");
  }
  return parent.add_subcommand("produce", "add items to a group's work queue, each for one consumer");
}

}  // namespace

SendCommand::SendCommand(CLI::App& parent, Mode mode)
    : mode_(mode),
      command_(add_command(parent, mode)),
      client_(*command_, mode == Mode::broadcast ? "zrelay broadcast" : "zrelay produce") {
  command_->add_option("GROUP", group_, "the group")->required()->check(group_name());
  if (mode_ == Mode::broadcast) {
    command_->add_option("MESSAGE", items_, "messages, each broadcast in turn (default: each line of stdin)");
  } else {
    command_->add_option("ITEM", items_, "items, in this order (default: each line of stdin)");
    command_->add_option("--copies", copies_, "copies of each item, each for one consumer")
        ->check(CLI::Range(1, 65535))
        ->capture_default_str();
  }
}

void SendCommand::send(Endpoint& endpoint, const std::string& item) const {
  if (mode_ == Mode::broadcast) {
    (void)endpoint.broadcast_raw(item, group_);
  } else {
    (void)endpoint.produce_raw(item, group_, copies_);
  }
}

int SendCommand::run() const {
  Endpoint endpoint = client_.connect({}, AckMode::on_take);
  ProgressLine progress(endpoint);
  RefusalReport refusals;
  if (items_.empty()) {
    LineReader lines(std::cin);
    for (std::string line; lines.next(line);) {
      send(endpoint, line);
      refusals.collect(endpoint);  // reported as they come: stdin may be a stream that never ends
    }
  } else {
    for (const std::string& item : items_) send(endpoint, item);
  }
  endpoint.sync(client_.timeout());
  refusals.collect(endpoint);
  endpoint.stop();
  return refusals.any() ? exit_code::unavailable : 0;
}

}  // namespace zrelay::cli
