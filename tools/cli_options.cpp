#include "tools/cli_options.hpp"

#include <cstdlib>
#include <system_error>
#include <utility>

#include "broker/state_dir.hpp"
#include "tools/cli_failure.hpp"

namespace zrelay::cli {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

bool file_exists(const fs::path& path) {
  std::error_code ignored;
  return fs::exists(path, ignored);
}

// The certificate file `path`, or a Failure naming it and saying where it was expected to come from.
fs::path existing(const fs::path& path, const std::string& what, bool from_state_dir) {
  if (file_exists(path)) return path;
  std::string message = what + " '" + path.string() + "' not found";
  if (from_state_dir) {
    message += " (the default from zrelay-broker's state directory: start zrelay-broker once on this machine, "
               "set ZRELAY_STATE_DIR to its state directory, or give the key options)";
  }
  throw Failure{exit_code::config, message};
}

Failure connect_failure(const Error& error, const std::string& broker, const std::string& public_key,
                        std::chrono::milliseconds timeout) {
  switch (error.code()) {
    case ErrorCode::timeout:
      return {exit_code::unavailable, "no broker at " + broker + " within " + std::to_string(timeout.count()) +
                                          " ms (is zrelay-broker running there, and is --broker-key or "
                                          "--broker-cert its key?)"};
    case ErrorCode::not_authorized:
      return {exit_code::no_permission, "not authorized by the broker at " + broker + " (this client's public key: " +
                                            public_key + "): " + error.what()};
    case ErrorCode::configuration: return {exit_code::usage, error.what()};
    default: return failure_of(error);
  }
}

}  // namespace

ClientOptions::ClientOptions(CLI::App& command, std::string default_name) : name_(std::move(default_name)) {
  command.add_option("--broker", broker_, "the broker's address, tcp://HOST:PORT")
      ->envname("ZRELAY_BROKER")
      ->capture_default_str();
  auto* key = command.add_option("--broker-key", broker_key_, "the broker's public key (Z85, as zrelay-broker prints it)");
  auto* file = command.add_option("--broker-cert", broker_certificate_,
                                  "the broker's public certificate file (env ZRELAY_BROKER_CERT; default: 'broker' "
                                  "in zrelay-broker's state directory)");
  key->excludes(file);
  command.add_option("--cert", certificate_,
                     "this client's certificate: NAME, with NAME_secret beside it (default: 'client' in "
                     "zrelay-broker's state directory)")
      ->envname("ZRELAY_CERT");
  command.add_option("--timeout", timeout_ms_,
                     "milliseconds to wait for the broker: to connect, to confirm what was sent, to take more")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--name", name_, "this client's name in the broker's log")->capture_default_str();
}

fs::path ClientOptions::state_file(const std::string& name) {
  try {
    return broker::StateDir::default_path() / name;
  } catch (const Error& e) {
    throw Failure{exit_code::config, e.what()};
  }
}

Certificate ClientOptions::own_certificate() const {
  const bool from_state_dir = certificate_.empty();
  const fs::path path = existing(from_state_dir ? state_file("client") : fs::path(certificate_),
                                 "client certificate", from_state_dir);
  Certificate certificate;
  try {
    certificate = Certificate::load(path);
  } catch (const Error& e) {
    throw Failure{exit_code::config, e.what()};
  }
  if (!certificate.has_secret()) {
    throw Failure{exit_code::config, "secret certificate '" + path.string() +
                                         "_secret' not found: the client needs its secret key beside its certificate"};
  }
  return certificate;
}

std::string ClientOptions::broker_public_key() const {
  if (!broker_key_.empty()) {
    try {
      return Certificate::from_keys(broker_key_).public_key();
    } catch (const Error& e) {
      throw Failure{exit_code::config, "--broker-key: " + std::string(e.what())};
    }
  }
  std::string given = broker_certificate_.empty() ? env("ZRELAY_BROKER_CERT") : broker_certificate_;
  const bool from_state_dir = given.empty();
  const fs::path path = existing(from_state_dir ? state_file("broker") : fs::path(given), "broker certificate",
                                 from_state_dir);
  try {
    return Certificate::load_public(path).public_key();
  } catch (const Error& e) {
    throw Failure{exit_code::config, e.what()};
  }
}

Endpoint ClientOptions::connect(std::vector<std::string> groups, AckMode ack_mode) const {
  EndpointOptions options;
  options.broker = broker_;
  options.broker_public_key = broker_public_key();
  options.certificate = own_certificate();
  options.groups = std::move(groups);
  options.name = name_;
  options.connect_timeout = timeout();
  options.stop_timeout = timeout();
  options.send_timeout = timeout();
  options.ack_mode = ack_mode;
  const std::string public_key = options.certificate.public_key();
  try {
    return Endpoint(std::move(options));
  } catch (const Error& e) {
    throw connect_failure(e, broker_, public_key, timeout());
  }
}

CLI::Validator group_name() {
  return CLI::Validator(
      [](const std::string& name) -> std::string {
        if (name.empty() || name.size() > 255) return "a group name has 1 to 255 bytes";
        for (const char c : name) {
          if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return "a group name has no control characters";
        }
        return {};
      },
      "GROUP");
}

}  // namespace zrelay::cli
