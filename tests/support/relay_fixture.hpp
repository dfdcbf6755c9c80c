#pragma once
// An in-process broker on 127.0.0.1 with an OS-chosen port, and endpoints authorized to use it.
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zrelay/broker.hpp>
#include <zrelay/endpoint.hpp>

namespace zrelay::testing {

class RelayFixture : public ::testing::Test {
 protected:
  void start_broker(BrokerLimits limits = {}, std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5)) {
    BrokerOptions options;
    options.handshake_timeout = handshake_timeout;
    options.bind = "tcp://127.0.0.1:*";
    options.certificate = broker_key;
    options.authorized_keys = {client_key};
    options.limits = std::move(limits);
    broker = std::make_unique<Broker>(std::move(options));
  }

  void SetUp() override { start_broker(); }

  [[nodiscard]] EndpointOptions options_for(std::vector<std::string> groups, const Certificate& key) const {
    EndpointOptions options;
    options.broker = broker->endpoint();
    options.broker_public_key = broker->public_key();
    options.certificate = key;
    options.groups = std::move(groups);
    options.connect_timeout = std::chrono::seconds(10);
    return options;
  }

  [[nodiscard]] std::unique_ptr<Endpoint> endpoint(std::vector<std::string> groups = {}) const {
    return std::make_unique<Endpoint>(options_for(std::move(groups), client_key));
  }

  // Pops until `count` objects arrived or the deadline passed.
  static std::vector<Message> receive(Endpoint& endpoint, std::size_t count,
                                      std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    std::vector<Message> received;
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (received.size() < count && std::chrono::steady_clock::now() < until) {
      for (auto& m : endpoint.pop(count - received.size(), std::chrono::milliseconds(100))) {
        received.push_back(std::move(m));
      }
    }
    return received;
  }

  Certificate broker_key = Certificate::generate();
  Certificate client_key = Certificate::generate();
  std::unique_ptr<Broker> broker;
};

}  // namespace zrelay::testing
