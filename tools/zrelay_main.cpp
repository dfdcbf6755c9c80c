// zrelay: the command-line client. Broadcasts and produces lines or arguments, listens to
// broadcasts and consumes work items, printing one line per payload; prints the broker's statistics.
#include <csignal>
#include <exception>
#include <iostream>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <zrelay/error.hpp>

#include "tools/cli_failure.hpp"
#include "tools/consume_command.hpp"
#include "tools/listen_command.hpp"
#include "tools/send_command.hpp"
#include "tools/stats_command.hpp"

namespace {

using zrelay::cli::Failure;
namespace exit_code = zrelay::cli::exit_code;

// A closed standard descriptor gets /dev/null, read-only: libzmq's own descriptors must not land
// on 0-2, and writing payloads to a closed stdout must still fail instead of reaching a socket.
void occupy_closed_standard_descriptors() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (fcntl(fd, F_GETFD) == -1) (void)open("/dev/null", O_RDONLY);  // takes the lowest free descriptor: fd
  }
}

int fail(const Failure& failure) {
  std::cerr << "zrelay: " << failure.message << std::endl;
  return failure.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  occupy_closed_standard_descriptors();
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error, handled like any other
  std::ios::sync_with_stdio(false);

  CLI::App app("zrelay: send and receive through a zrelay broker, one line per payload", "zrelay");
  app.set_version_flag("--version", "zrelay " ZRELAY_VERSION);
  app.require_subcommand(1);
  using zrelay::cli::SendCommand;
  SendCommand broadcast(app, SendCommand::Mode::broadcast);
  SendCommand produce(app, SendCommand::Mode::produce);
  zrelay::cli::ListenCommand listen(app);
  zrelay::cli::ConsumeCommand consume(app);
  zrelay::cli::StatsCommand stats(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_code::usage;
  }

  try {
    if (broadcast.chosen()) return broadcast.run();
    if (produce.chosen()) return produce.run();
    if (listen.chosen()) return listen.run();
    if (stats.chosen()) return stats.run();
    return consume.run();
  } catch (const Failure& failure) {
    return fail(failure);
  } catch (const zrelay::Error& e) {
    return fail(zrelay::cli::failure_of(e));
  } catch (const std::exception& e) {
    return fail({exit_code::software, e.what()});
  }
}
