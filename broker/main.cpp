// zrelay-broker: runs a broker until SIGINT or SIGTERM. With no arguments it runs on secure
// embedded defaults: localhost only, its own key pair and authorized keys in a state directory.
#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <zrelay/broker.hpp>
#include <zrelay/error.hpp>

#include "broker/group_spec.hpp"
#include "broker/state_dir.hpp"

namespace {

constexpr int ex_usage = 64;
constexpr int ex_software = 70;
constexpr int ex_config = 78;

struct Arguments {
  zrelay::BrokerOptions options;
  std::string state_dir;
  std::string certificate;
  std::string authorized_keys;
  std::vector<std::string> groups;
  std::int64_t heartbeat_ms = options.limits.heartbeat.count();
  std::int64_t liveness_ms = options.limits.liveness.count();
};

void add_options(CLI::App& app, Arguments& args) {
  app.add_option("--bind", args.options.bind, "address to listen on (tcp://HOST:PORT; port * lets the OS choose)")
      ->capture_default_str();
  app.add_option("--state-dir", args.state_dir,
                 "where default keys live (default: $ZRELAY_STATE_DIR, $XDG_STATE_HOME/zrelay or ~/.local/state/zrelay)");
  app.add_option("--cert", args.certificate, "the broker's certificate (NAME with NAME_secret beside it)");
  app.add_option("--authorized-keys", args.authorized_keys, "directory of the public certificates of allowed clients");
  app.add_option("--group", args.groups,
                 "accept this group: NAME[:MAX_COUNT[:MAX_CONSUMABLES[:refuse|drop-oldest]]]; repeat; "
                 "without any, every group name is accepted");
  app.add_option("--max-consumables", args.options.limits.default_group.max_consumables,
                 "queue bound of groups not named by --group (0 = none)")
      ->capture_default_str();
  app.add_option("--max-message-size", args.options.limits.max_message_size, "largest payload in bytes")
      ->capture_default_str();
  app.add_option("--max-groups", args.options.limits.max_groups, "most groups the broker keeps")->capture_default_str();
  app.add_option("--io-threads", args.options.io_threads, "libzmq I/O threads (CURVE runs there)")
      ->capture_default_str();
  app.add_option("--max-payload-bytes", args.options.limits.max_payload_bytes,
                 "payload bytes the broker holds at most (queues, unacknowledged items, last values, send queues)")
      ->capture_default_str();
  app.add_option("--max-client-pending-bytes", args.options.limits.max_client_pending_bytes,
                 "bytes waiting to be written to one client before it gets no more for now")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", args.heartbeat_ms, "how often clients must show they are alive (at least 10)")
      ->capture_default_str();
  app.add_option("--liveness-ms", args.liveness_ms,
                 "a client silent this long is forgotten and its unacknowledged items go to others (over heartbeat)")
      ->capture_default_str();
}

// Fills groups, certificate and authorized keys from the arguments or the state directory.
void resolve_keys(Arguments& args) {
  args.options.limits.heartbeat = std::chrono::milliseconds(args.heartbeat_ms);
  args.options.limits.liveness = std::chrono::milliseconds(args.liveness_ms);
  for (const std::string& spec : args.groups) {
    args.options.limits.accepted_groups.push_back(zrelay::broker::parse_group_spec(spec));
  }
  const bool need_state = args.certificate.empty() || args.authorized_keys.empty();
  if (need_state) {
    const zrelay::broker::StateDir state(args.state_dir.empty() ? zrelay::broker::StateDir::default_path()
                                                                 : std::filesystem::path(args.state_dir));
    if (args.certificate.empty()) {
      args.options.certificate = state.broker_certificate();
      std::cout << "broker certificate: " << state.broker_certificate_path().string() << "\n";
    }
    if (args.authorized_keys.empty()) {
      if (state.ensure_client_certificate()) {
        std::cout << "generated a client key pair: " << state.client_certificate_path().string()
                  << " (authorized)\n";
      }
      args.authorized_keys = state.authorized_keys_dir().string();
    }
  }
  if (!args.certificate.empty()) args.options.certificate = zrelay::Certificate::load(args.certificate);
  args.options.authorized_keys_dir = args.authorized_keys;
}

// The signal that asked to stop, or 0 if the broker stopped serving on its own (a fault).
int wait_for_signal(const sigset_t& signals, const zrelay::Broker& broker) {
  const timespec poll_interval{0, 200'000'000};
  while (broker.serving()) {
    const int signal = sigtimedwait(&signals, nullptr, &poll_interval);
    if (signal > 0) return signal;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("zrelay-broker: the secure zrelay relay (CurveZMQ, authenticated clients)");
  app.set_version_flag("--version", std::string("zrelay-broker ") + ZRELAY_VERSION);
  Arguments args;
  add_options(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return ex_usage;
  }

  spdlog::set_default_logger(spdlog::stderr_color_mt("zrelay-broker"));  // stdout is for the facts below

  // Signals are taken by sigtimedwait in this thread only: every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    resolve_keys(args);
    const auto linger = args.options.linger;
    zrelay::Broker broker(std::move(args.options));
    std::cout << "authorized keys: " << args.authorized_keys << "\n"
              << "broker public key: " << broker.public_key() << "\n"
              << "listening on " << broker.endpoint() << std::endl;
    const int signal = wait_for_signal(signals, broker);
    if (signal == 0) {
      spdlog::critical("the broker stopped serving after a fault; exiting");
      return ex_software;
    }
    spdlog::info("signal {}: stopping (clients are told, pending sends get up to {} ms)", signal,
                 linger.count());
    broker.stop();
    spdlog::info("stopped serving; closing the socket");
  } catch (const zrelay::Error& e) {
    std::cerr << "zrelay-broker: " << e.what() << std::endl;
    return ex_config;
  }
  return 0;
}
