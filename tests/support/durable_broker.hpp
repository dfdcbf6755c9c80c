#pragma once
// The real broker program with the groups `jobs*` durable, for the crash and power-loss tests.
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay::testing {

using namespace std::chrono_literals;

inline constexpr Timeout deadline = 20s;  // for conditions that hold within milliseconds when all is well

// The broker program with the groups `jobs*` durable, on one address, key pair and data
// directory across kills. Its state directory's client key is authorized and may read statistics.
class DurableBroker {
 public:
  // The first start binds a port the OS picks; the later ones bind that address again.
  void start() {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{ZRELAY_BROKER_PATH, "--bind", address_.empty() ? "tcp://127.0.0.1:*" : address_,
                                 "--heartbeat-ms", "200", "--liveness-ms", "1000", "--admin", "client",
                                 "--durable", "jobs*", "--data-dir", (dir_ / "data").string()},
        std::vector<std::string>{"ZRELAY_STATE_DIR=" + (dir_ / "state").string()});
    const auto key = process_->wait_for("broker public key: ", deadline);
    const auto address = process_->wait_for("listening on ", deadline);
    if (!key || !address) throw std::runtime_error("the broker did not start:\n" + process_->output());
    if (!key_.empty() && (*key != key_ || *address != address_)) {
      throw std::runtime_error("the broker came back with another key or address: " + *key + " " + *address);
    }
    key_ = *key;
    address_ = *address;
  }

  void kill() {
    process_->signal(SIGKILL);
    if (process_->wait(deadline) != std::optional<int>(128 + SIGKILL)) {
      throw std::runtime_error("the broker did not die of SIGKILL:\n" + process_->output());
    }
  }

  void stop() {
    process_->signal(SIGTERM);
    EXPECT_EQ(process_->wait(deadline), std::optional<int>(0)) << process_->output();
  }

  [[nodiscard]] EndpointOptions options_for(std::vector<std::string> groups) const {
    EndpointOptions o;
    o.broker = address_;
    o.broker_public_key = key_;
    o.certificate_file = dir_ / "state" / "client";
    o.groups = std::move(groups);
    o.reconnect.initial_delay = 20ms;
    o.reconnect.max_delay = 200ms;
    return o;
  }

  // The value a member joining `group` now gets first: its last value, if it has one. sync()
  // makes sure the broker's answer to the join, which carries it, is in the local queue.
  [[nodiscard]] std::optional<std::string> last_value(const std::string& group) const {
    Endpoint observer(options_for({group}));
    observer.sync();
    for (const Message& m : observer.pop(1, no_wait)) return std::string(m.text());
    return std::nullopt;
  }

  [[nodiscard]] std::string output() const { return process_ ? process_->output() : std::string(); }
  [[nodiscard]] Process& process() { return *process_; }
  [[nodiscard]] std::filesystem::path data_dir() const { return dir_ / "data"; }

 private:
  TempDir dir_;
  std::unique_ptr<Process> process_;
  std::string key_;
  std::string address_;
};

}  // namespace zrelay::testing
