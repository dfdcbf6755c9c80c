#pragma once
// The options every zrelay subcommand shares (broker address, keys, timeout, name) and the
// endpoint they describe. Without key options the keys of zrelay-broker's state directory are
// used, so that a client and a broker started with no arguments on one machine work together.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <zrelay/endpoint.hpp>

namespace zrelay::cli {

class ClientOptions {
 public:
  // Adds the options to `command`; `default_name` is the client name shown in the broker's log.
  ClientOptions(CLI::App& command, std::string default_name);

  [[nodiscard]] std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms_); }

  // Connects and joins `groups`. Throws Failure with a message that names the missing file,
  // the refused key or the broker that did not answer.
  [[nodiscard]] Endpoint connect(std::vector<std::string> groups, AckMode ack_mode) const;

 private:
  [[nodiscard]] Certificate own_certificate() const;
  [[nodiscard]] std::string broker_public_key() const;
  [[nodiscard]] static std::filesystem::path state_file(const std::string& name);

  std::string broker_ = "tcp://127.0.0.1:5555";
  std::string broker_key_;
  std::string broker_certificate_;
  std::string certificate_;
  std::int64_t timeout_ms_ = 5000;
  std::string name_;
};

// Checks a group name as the broker does: 1..255 bytes, no control characters.
[[nodiscard]] CLI::Validator group_name();

}  // namespace zrelay::cli
