#pragma once
// The real zrelay command against the real zrelay-broker on embedded defaults: both find their
// keys in one state directory (ZRELAY_STATE_DIR), and the command finds the broker through
// ZRELAY_BROKER. Commands get a stdin of their own (empty unless a test gives text).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay::testing {

class CliFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> args{ZRELAY_BROKER_PATH, "--bind", "tcp://127.0.0.1:*"};
    args.insert(args.end(), broker_options.begin(), broker_options.end());
    broker = std::make_unique<Process>(args, std::vector<std::string>{"ZRELAY_STATE_DIR=" + state.string()});
    broker_key = broker->wait_for("broker public key: ", std::chrono::seconds(20)).value_or("");
    address = broker->wait_for("listening on ", std::chrono::seconds(20)).value_or("");
    ASSERT_FALSE(address.empty()) << broker->output();
  }

  // The environment of a command: `extra` first, as the first match wins.
  [[nodiscard]] std::vector<std::string> environment(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> env = extra;
    env.push_back("ZRELAY_STATE_DIR=" + state.string());
    env.push_back("ZRELAY_BROKER=" + address);
    return env;
  }

  // Runs `zrelay args...` to its end.
  [[nodiscard]] RunResult zrelay(std::vector<std::string> args, const std::string& input = {},
                                 const std::vector<std::string>& extra_env = {}) const {
    args.insert(args.begin(), ZRELAY_CLI_PATH);
    return run(args, environment(extra_env), input);
  }

  // Starts `zrelay args...` and leaves it running.
  [[nodiscard]] std::unique_ptr<Process> start(std::vector<std::string> args) const {
    args.insert(args.begin(), ZRELAY_CLI_PATH);
    return std::make_unique<Process>(args, environment(), std::string());
  }

  std::vector<std::string> broker_options;  // set in a derived fixture's constructor
  TempDir dir;
  const std::filesystem::path state = dir / "state";
  std::unique_ptr<Process> broker;
  std::string broker_key;
  std::string address;
};

}  // namespace zrelay::testing
