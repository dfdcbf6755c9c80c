#pragma once
// BrokerCore driven directly: messages in, addressed messages out, time moved by hand.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/broker_core.hpp"

namespace zrelay::broker {

using namespace protocol;

class BrokerCoreTest : public ::testing::Test {
 protected:
  void make_core(BrokerLimits limits = {}) {
    core = std::make_unique<BrokerCore>(std::move(limits));
    core->advance(start);
  }
  void SetUp() override { make_core(); }
  // A core whose groups queue at most `max_consumables` items, then apply `overflow`.
  void make_core_with_queue(std::size_t max_consumables, Overflow overflow = Overflow::refuse) {
    BrokerLimits limits;
    limits.default_group.max_consumables = max_consumables;
    limits.default_group.overflow = overflow;
    make_core(std::move(limits));
  }

  // Sends `message` from `client` (authenticated as user_id_of(client)) and returns the replies.
  std::vector<Outgoing> send(const ClientId& client, ClientMessage&& message) {
    core->handle(client, user_id_of(client), std::move(message));
    return core->take_outbox();
  }
  // The ZAP User-Id of a client's messages: "key-<client>" unless a test sets real keys.
  std::function<std::string(const ClientId&)> user_id_of = [](const ClientId& client) { return "key-" + client; };

  void hello(const ClientId& client) {
    auto out = send(client, Hello{client});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<Welcome>(out[0].message));
  }

  void join(const ClientId& client, const std::string& group) {
    auto out = send(client, Join{group});
    ASSERT_FALSE(out.empty());
    ASSERT_TRUE(std::holds_alternative<Joined>(out[0].message)) << "join refused";
  }

  void undeliverable(Outgoing&& out, bool peer_gone) {
    std::vector<Undelivered> failed;
    failed.push_back(Undelivered{std::move(out), peer_gone});
    core->undeliverable(std::move(failed));
  }

  static zmq::message_t bytes(const std::string& text) { return zmq::message_t(text.data(), text.size()); }

  static std::vector<std::string> payloads_to(const std::vector<Outgoing>& out, const ClientId& to, Kind kind) {
    std::vector<std::string> texts;
    for (const auto& o : out) {
      const auto* d = std::get_if<Deliver>(&o.message);
      if (o.to == to && d != nullptr && d->kind == kind) texts.push_back(d->payload.to_string());
    }
    return texts;
  }

  static const ErrorReply* error_in(const std::vector<Outgoing>& out) {
    for (const auto& o : out) {
      if (const auto* e = std::get_if<ErrorReply>(&o.message)) return e;
    }
    return nullptr;
  }

  // Moves the core's clock and runs its timer.
  std::vector<Outgoing> tick_at(Clock::duration since_start) {
    core->tick(start + since_start);
    return core->take_outbox();
  }
  // Sends `message` from `client` at `since_start`.
  std::vector<Outgoing> send_at(Clock::duration since_start, const ClientId& client, ClientMessage&& message) {
    core->advance(start + since_start);
    return send(client, std::move(message));
  }

  static std::vector<const Deliver*> produced_to(const std::vector<Outgoing>& out, const ClientId& to) {
    std::vector<const Deliver*> delivered;
    for (const auto& o : out) {
      const auto* d = std::get_if<Deliver>(&o.message);
      if (o.to == to && d != nullptr && d->kind == Kind::produced) delivered.push_back(d);
    }
    return delivered;
  }

  static const Goodbye* goodbye_to(const std::vector<Outgoing>& out, const ClientId& to) {
    for (const auto& o : out) {
      if (const auto* g = std::get_if<Goodbye>(&o.message); g != nullptr && o.to == to) return g;
    }
    return nullptr;
  }

  [[nodiscard]] GroupStatistics stats_of(const std::string& name) const {
    for (const auto& g : core->statistics().groups) {
      if (g.name == name) return g;
    }
    return {};
  }

  const Clock::time_point start = Clock::time_point{} + std::chrono::hours(1);
  std::unique_ptr<BrokerCore> core;
};

}  // namespace zrelay::broker
