// zrelay-broker: runs a broker until SIGINT or SIGTERM; SIGHUP reloads the authorized keys, the
// authorization rules and the log level. With no arguments it runs on secure embedded defaults:
// localhost only, its own key pair and authorized keys in a state directory.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <zrelay/broker.hpp>
#include <zrelay/error.hpp>

#include "broker/broker_config.hpp"
#include "broker/config_file.hpp"
#include "broker/group_spec.hpp"
#include "broker/state_dir.hpp"

namespace {

using zrelay::broker::BrokerConfig;

constexpr int ex_usage = 64;
constexpr int ex_software = 70;
constexpr int ex_config = 78;

// The command line, bound to `config`; `file` receives --config.
std::unique_ptr<CLI::App> make_app(BrokerConfig& config, std::string& file) {
  auto app = std::make_unique<CLI::App>("zrelay-broker: the secure zrelay relay (CurveZMQ, authenticated clients)");
  app->set_version_flag("--version", std::string("zrelay-broker ") + ZRELAY_VERSION);
  auto& o = config.options;
  auto& limits = o.limits;
  app->add_option("--config", file, "TOML config file (docs/configuration.md); options given here override it");
  app->add_option("--bind", o.bind, "address to listen on (tcp://HOST:PORT; port * lets the OS choose)")
      ->capture_default_str();
  app->add_option("--state-dir", config.state_dir,
                  "where default keys live (default: $ZRELAY_STATE_DIR, $XDG_STATE_HOME/zrelay or ~/.local/state/zrelay)");
  app->add_option("--cert", config.certificate, "the broker's certificate (NAME with NAME_secret beside it)");
  app->add_option("--authorized-keys", config.authorized_keys, "directory of the public certificates of allowed clients");
  app->add_option("--group", config.group_specs,
                  "accept this group: NAME[:MAX_COUNT[:MAX_CONSUMABLES[:refuse|drop-oldest]]]; repeat; "
                  "without any, every group name is accepted");
  app->add_option("--durable", limits.durable_groups,
                  "groups matching this glob (*, ?, [...]) are durable: stored in --data-dir, confirmed once synced; repeat");
  app->add_option("--data-dir", config.data_dir, "where durable groups are stored (default: DATA under the state directory)");
  app->add_option("--max-store-bytes", limits.max_store_bytes, "bytes the store of durable groups holds at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_option("--admin", config.admins, "a client (certificate name or public key) allowed to read statistics; repeat");
  app->add_option("--log-level", config.log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app->add_option("--max-consumables", limits.default_group.max_consumables,
                  "queue bound of groups not named by --group (0 = none)")
      ->capture_default_str();
  app->add_option("--max-message-size", limits.max_message_size, "largest payload in bytes")->capture_default_str();
  app->add_option("--max-groups", limits.max_groups, "most groups the broker keeps")->capture_default_str();
  app->add_option("--io-threads", o.io_threads, "libzmq I/O threads (CURVE runs there)")->capture_default_str();
  app->add_option("--max-payload-bytes", limits.max_payload_bytes,
                  "payload bytes the broker holds at most (queues, unacknowledged items, last values, send queues)")
      ->capture_default_str();
  app->add_option("--max-client-pending-bytes", limits.max_client_pending_bytes,
                  "bytes waiting to be written to one client before it gets no more for now")
      ->capture_default_str();
  app->add_option("--max-client-unacked", limits.max_client_unacked,
                  "produced items one client holds unacknowledged before it gets no more")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32))
      ->capture_default_str();
  app->add_option_function<std::int64_t>(
         "--heartbeat-ms", [&limits](const std::int64_t& ms) { limits.heartbeat = std::chrono::milliseconds(ms); },
         "how often clients must show they are alive (at least 10; default 1000)");
  app->add_option_function<std::int64_t>(
         "--liveness-ms", [&limits](const std::int64_t& ms) { limits.liveness = std::chrono::milliseconds(ms); },
         "a client silent this long is forgotten and its unacknowledged items go to others (over heartbeat; "
         "default 3000)");
  return app;
}

// The command line over the config file it names, into what `app` is bound to. Throws
// CLI::ParseError or zrelay::Error.
void parse(CLI::App& app, int argc, char** argv, BrokerConfig& config, const std::string& file) {
  app.parse(argc, argv);
  if (file.empty()) return;
  zrelay::broker::read_config_file(file, config);
  app.clear();
  app.parse(argc, argv);  // again, so that what the command line says wins
}

BrokerConfig load(int argc, char** argv) {
  BrokerConfig config;
  std::string file;
  auto app = make_app(config, file);
  parse(*app, argc, argv, config, file);
  return config;
}

// Groups and rules from the options that name them.
void resolve_rules(BrokerConfig& config) {
  auto& limits = config.options.limits;
  if (!config.group_specs.empty()) limits.accepted_groups.clear();
  for (const std::string& spec : config.group_specs) {
    limits.accepted_groups.push_back(zrelay::broker::parse_group_spec(spec));
  }
  if (!config.data_dir.empty()) {
    config.options.data_dir = config.data_dir;
  } else if (zrelay::has_durable_groups(limits)) {
    const std::filesystem::path state = config.state_dir.empty() ? zrelay::broker::StateDir::default_path()
                                                                 : std::filesystem::path(config.state_dir);
    config.options.data_dir = state / "data";
  }
  for (const std::string& admin : config.admins) {
    config.options.access_rules.push_back(zrelay::AccessRule{{admin}, {}, static_cast<zrelay::Actions>(zrelay::Action::stats), 0});
  }
}

// The broker certificate and authorized keys that the paths leave open, from the state
// directory; on the first start (`announce`) what is missing is generated and said on stdout.
void resolve_state_keys(BrokerConfig& config, bool announce) {
  const zrelay::broker::StateDir state(config.state_dir.empty() ? zrelay::broker::StateDir::default_path()
                                                                : std::filesystem::path(config.state_dir));
  if (config.certificate.empty()) {
    config.options.certificate = state.broker_certificate();
    if (announce) std::cout << "broker certificate: " << state.broker_certificate_path().string() << "\n";
  }
  if (config.authorized_keys.empty()) {
    if (announce && state.ensure_client_certificate()) {
      std::cout << "generated a client key pair: " << state.client_certificate_path().string() << " (authorized)\n";
    }
    config.authorized_keys = state.authorized_keys_dir().string();
  }
}

// Fills the certificate and authorized keys from the paths or the state directory.
void resolve_keys(BrokerConfig& config, bool announce) {
  auto& o = config.options;
  if (config.certificate.empty() || config.authorized_keys.empty()) resolve_state_keys(config, announce);
  if (!config.certificate.empty()) o.certificate = zrelay::Certificate::load(config.certificate);
  o.authorized_keys_dir = config.authorized_keys;
}

// The settings a reload cannot change, as text to compare.
std::string restart_settings(const BrokerConfig& config) {
  const auto& o = config.options;
  const auto& l = o.limits;
  std::ostringstream text;
  text << o.bind << ' ' << o.io_threads << ' ' << config.certificate << ' ' << config.state_dir << ' '
       << l.max_message_size << ' ' << l.max_payload_bytes << ' ' << l.max_client_pending_bytes << ' ' << l.max_client_unacked << ' ' << l.max_groups
       << ' ' << l.default_group.max_consumables << ' ' << l.heartbeat.count() << ' ' << l.liveness.count() << ' '
       << config.data_dir << ' ' << l.max_store_bytes;
  for (const auto& glob : l.durable_groups) text << " durable:" << glob;
  for (const auto& address : o.also_bind) text << ' ' << address;
  for (const auto& g : l.accepted_groups) {
    text << ' ' << g.name << ':' << g.max_count << ':' << g.max_consumables << ':' << static_cast<int>(g.overflow) << ':'
         << g.durable;
  }
  return text.str();
}

void set_log_level(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

// The broker's lines go to this program's logger (stderr, colours), whose level SIGHUP can change.
void log_to_default_logger(zrelay::BrokerOptions& options) {
  options.log_level = zrelay::LogLevel::debug;  // the default logger's level decides
  options.log_sink = [](zrelay::LogLevel level, std::string_view line) {
    static constexpr spdlog::level::level_enum levels[] = {spdlog::level::debug, spdlog::level::info,
                                                           spdlog::level::warn,  spdlog::level::err,
                                                           spdlog::level::critical, spdlog::level::off};
    spdlog::default_logger_raw()->log(levels[static_cast<int>(level)], "{}", line);
  };
}

// SIGHUP: keys, rules and log level again from the same command line and config file.
void reload(int argc, char** argv, const BrokerConfig& running, zrelay::Broker& broker) {
  try {
    BrokerConfig config = load(argc, argv);
    resolve_rules(config);
    resolve_keys(config, false);
    broker.reload(config.options);
    set_log_level(config.log_level);
    if (restart_settings(config) != restart_settings(running)) {
      spdlog::warn("reload: listen addresses, certificate, limits or groups changed; they take effect after a restart");
    }
  } catch (const std::exception& e) {  // the broker keeps running on what it had
    spdlog::error("reload failed, nothing changed: {}", e.what());
  }
}

// Serves until SIGINT or SIGTERM (returns it), or 0 if the broker stopped serving on its own (a fault).
int serve(const sigset_t& signals, zrelay::Broker& broker, int argc, char** argv, const BrokerConfig& config) {
  const timespec poll_interval{0, 200'000'000};
  while (broker.serving()) {
    const int signal = sigtimedwait(&signals, nullptr, &poll_interval);
    if (signal == SIGHUP) {
      spdlog::info("SIGHUP: reloading keys, authorization rules and log level");
      reload(argc, argv, config, broker);
    } else if (signal > 0) {
      return signal;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  BrokerConfig config;
  std::string file;
  const auto app = make_app(config, file);
  try {
    parse(*app, argc, argv, config, file);
  } catch (const CLI::ParseError& e) {
    return app->exit(e) == 0 ? 0 : ex_usage;  // help and version on stdout, usage errors on stderr
  } catch (const zrelay::Error& e) {
    std::cerr << "zrelay-broker: " << e.what() << std::endl;
    return ex_config;
  }

  spdlog::set_default_logger(spdlog::stderr_color_mt("zrelay-broker"));  // stdout is for the facts below
  set_log_level(config.log_level);

  // Signals are taken by sigtimedwait in this thread only: every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    resolve_rules(config);
    resolve_keys(config, true);
    const auto linger = config.options.linger;
    log_to_default_logger(config.options);
    zrelay::Broker broker(config.options);
    std::cout << "authorized keys: " << config.authorized_keys << "\n"
              << "broker public key: " << broker.public_key() << "\n";
    for (const std::string& address : broker.endpoints()) std::cout << "listening on " << address << "\n";
    std::cout << std::flush;
    const int signal = serve(signals, broker, argc, argv, config);
    if (signal == 0) {
      spdlog::critical("the broker stopped serving after a fault; exiting");
      return ex_software;
    }
    spdlog::info("signal {}: stopping (clients are told, pending sends get up to {} ms)", signal, linger.count());
    broker.stop();
    spdlog::info("stopped serving; closing the socket");
  } catch (const zrelay::Error& e) {
    std::cerr << "zrelay-broker: " << e.what() << std::endl;
    return ex_config;
  }
  return 0;
}
