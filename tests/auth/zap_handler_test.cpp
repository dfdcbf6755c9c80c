#include "auth/zap_handler.hpp"

#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <zrelay/error.hpp>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

namespace {
using namespace std::chrono_literals;
using zrelay::Certificate;
using zrelay::auth::AllowList;
using zrelay::auth::ZapHandler;
using Clock = std::chrono::steady_clock;

constexpr auto deadline = 5s;
constexpr const char* domain = "zrelay";

AllowList allowing(const Certificate& cert) {
  AllowList list;
  list.add(cert);
  return list;
}

bool wait_readable(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  return zmq::poll(&item, 1, timeout) > 0;
}

// Decisions reported to the observer, from the handler's thread.
class Decisions {
 public:
  ZapHandler::Observer observer() {
    return [this](const std::string& key, const std::string&, bool allowed, const std::string&) {
      std::lock_guard lock(mutex_);
      seen_.emplace_back(key, allowed);
    };
  }
  std::vector<std::pair<std::string, bool>> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, bool>> seen_;
};

class ZapHandlerTest : public ::testing::Test {
 protected:
  // A CURVE server that only accepts clients the ZAP handler approves for `domain`.
  zmq::socket_t make_server() {
    zmq::socket_t server(context_, zmq::socket_type::router);
    server.set(zmq::sockopt::linger, 0);
    server.set(zmq::sockopt::curve_server, 1);
    server.set(zmq::sockopt::curve_secretkey, server_cert_.secret_key());
    server.set(zmq::sockopt::zap_domain, domain);
    const int enforce = 1;
    EXPECT_EQ(zmq_setsockopt(server.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce), 0);
    server.bind("tcp://127.0.0.1:*");
    endpoint_ = server.get(zmq::sockopt::last_endpoint);
    return server;
  }

  zmq::socket_t make_client(const Certificate& cert) {
    zmq::socket_t client(context_, zmq::socket_type::dealer);
    client.set(zmq::sockopt::linger, 0);
    client.set(zmq::sockopt::curve_serverkey, server_cert_.public_key());
    client.set(zmq::sockopt::curve_publickey, cert.public_key());
    client.set(zmq::sockopt::curve_secretkey, cert.secret_key());
    return client;
  }

  // The first handshake event reported by `client`'s monitor: {event, value}.
  std::optional<std::pair<int, int>> next_handshake_event(zmq::socket_t& client) {
    const std::string address = "inproc://monitor-" + std::to_string(++monitors_);
    const int events = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(client.handle(), address.c_str(), events) != 0) return std::nullopt;
    zmq::socket_t monitor(context_, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(address);
    client.connect(endpoint_);
    client.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
    std::optional<std::pair<int, int>> result;
    if (wait_readable(monitor, deadline)) {
      std::vector<zmq::message_t> frames;
      (void)zmq::recv_multipart(monitor, std::back_inserter(frames));
      std::uint16_t event = 0;
      std::uint32_t value = 0;
      if (!frames.empty() && frames[0].size() == 6) {
        std::memcpy(&event, frames[0].data<char>(), 2);
        std::memcpy(&value, frames[0].data<char>() + 2, 4);
        result = std::pair<int, int>(event, static_cast<int>(value));
      }
    }
    zmq_socket_monitor(client.handle(), nullptr, 0);
    return result;
  }

  zmq::context_t context_{1};
  Certificate server_cert_ = Certificate::generate();
  Certificate client_cert_ = Certificate::generate();
  std::string endpoint_;
  int monitors_ = 0;
};

TEST_F(ZapHandlerTest, AllowedClientGetsThroughWithItsKeyAsUserId) {
  Decisions decisions;
  ZapHandler handler(context_, allowing(client_cert_), domain, decisions.observer());
  zmq::socket_t server = make_server();
  zmq::socket_t client = make_client(client_cert_);
  client.connect(endpoint_);
  client.send(zmq::str_buffer("hello"), zmq::send_flags::none);

  ASSERT_TRUE(wait_readable(server, deadline));
  std::vector<zmq::message_t> frames;
  ASSERT_TRUE(zmq::recv_multipart(server, std::back_inserter(frames)));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].to_string(), "hello");
  EXPECT_EQ(std::string(frames[1].gets("User-Id")), client_cert_.public_key());
  EXPECT_EQ(handler.denied_count(), 0u);
  EXPECT_EQ(decisions.seen(), (std::vector<std::pair<std::string, bool>>{{client_cert_.public_key(), true}}));
}

TEST_F(ZapHandlerTest, UnknownClientIsRejected) {
  Decisions decisions;
  ZapHandler handler(context_, allowing(client_cert_), domain, decisions.observer());
  zmq::socket_t server = make_server();
  const Certificate stranger = Certificate::generate();
  zmq::socket_t client = make_client(stranger);

  const auto event = next_handshake_event(client);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->first, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  EXPECT_EQ(event->second, 400);
  EXPECT_FALSE(wait_readable(server, 300ms)) << "a message of an unknown client reached the server";
  EXPECT_GE(handler.denied_count(), 1u);
  ASSERT_FALSE(decisions.seen().empty());
  EXPECT_EQ(decisions.seen().front(), std::make_pair(stranger.public_key(), false));
}

TEST_F(ZapHandlerTest, ReplaceTakesEffectForNewHandshakes) {
  ZapHandler handler(context_, AllowList(), domain);
  zmq::socket_t server = make_server();
  zmq::socket_t refused = make_client(client_cert_);
  const auto first = next_handshake_event(refused);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->first, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);

  handler.replace(allowing(client_cert_));
  zmq::socket_t accepted = make_client(client_cert_);
  const auto second = next_handshake_event(accepted);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->first, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
  ASSERT_TRUE(wait_readable(server, deadline));
  EXPECT_EQ(handler.denied_count(), 1u);
}

TEST_F(ZapHandlerTest, SecondHandlerInTheSameContextIsRefused) {
  ZapHandler handler(context_, AllowList(), domain);
  try {
    ZapHandler second(context_, AllowList(), domain);
    ADD_FAILURE() << "a second ZAP handler was bound";
  } catch (const zrelay::Error& e) {
    EXPECT_EQ(e.code(), zrelay::ErrorCode::configuration);
  }
}

TEST_F(ZapHandlerTest, StopsPromptlyAndCanBeMoved) {
  const auto start = Clock::now();
  for (int i = 0; i < 20; ++i) {
    zmq::context_t context(1);
    ZapHandler handler(context, AllowList(), domain);
    ZapHandler moved(std::move(handler));
    EXPECT_EQ(moved.denied_count(), 0u);
    EXPECT_EQ(handler.denied_count(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty but valid
  }
  EXPECT_LT(Clock::now() - start, 2s);
}

// Raw ZAP requests, as libzmq would send them, answered by the handler.
class ZapRequestTest : public ZapHandlerTest {
 protected:
  void SetUp() override {
    handler_.emplace(context_, allowing(client_cert_), domain);
    requester_ = zmq::socket_t(context_, zmq::socket_type::req);
    requester_.set(zmq::sockopt::linger, 0);
    requester_.connect("inproc://zeromq.zap.01");
  }

  std::vector<std::string> ask(const std::vector<std::string>& request) {
    std::vector<zmq::const_buffer> frames;
    for (const std::string& frame : request) frames.push_back(zmq::buffer(frame));
    (void)zmq::send_multipart(requester_, frames);
    std::vector<std::string> reply;
    if (!wait_readable(requester_, deadline)) return reply;
    std::vector<zmq::message_t> messages;
    (void)zmq::recv_multipart(requester_, std::back_inserter(messages));
    for (const zmq::message_t& message : messages) reply.push_back(message.to_string());
    return reply;
  }

  std::vector<std::string> curve_request(std::string version, std::string zap_domain, std::string mechanism,
                                         std::string key) {
    return {std::move(version), "7", std::move(zap_domain), "127.0.0.1", "", std::move(mechanism), std::move(key)};
  }

  std::string key_bytes(const Certificate& cert) {
    return {reinterpret_cast<const char*>(cert.public_key_bytes().data()), 32};
  }

  std::optional<ZapHandler> handler_;
  zmq::socket_t requester_;
};

TEST_F(ZapRequestTest, AllowedKeyGets200) {
  const auto reply = ask(curve_request("1.0", domain, "CURVE", key_bytes(client_cert_)));
  ASSERT_EQ(reply.size(), 6u);
  EXPECT_EQ(reply[0], "1.0");
  EXPECT_EQ(reply[1], "7");
  EXPECT_EQ(reply[2], "200");
  EXPECT_EQ(reply[4], client_cert_.public_key());
  EXPECT_EQ(reply[5], "");
  EXPECT_EQ(handler_->denied_count(), 0u);
}

TEST_F(ZapRequestTest, RefusalsAndMalformedRequests) {
  const std::string key = key_bytes(client_cert_);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {curve_request("1.0", domain, "CURVE", key_bytes(Certificate::generate())), "400"},
      {curve_request("1.0", "other", "CURVE", key), "400"},
      {curve_request("1.0", domain, "PLAIN", key), "400"},
      {curve_request("1.0", domain, "NULL", ""), "400"},
      {curve_request("2.0", domain, "CURVE", key), "500"},
      {curve_request("1.0", domain, "CURVE", key.substr(0, 31)), "500"},
      {{"1.0", "7", domain}, "500"},
  };
  std::size_t denied = 0;
  for (const auto& [request, status] : cases) {
    const auto reply = ask(request);
    ASSERT_EQ(reply.size(), 6u);
    EXPECT_EQ(reply[0], "1.0");
    EXPECT_EQ(reply[1], "7");
    EXPECT_EQ(reply[2], status) << "for mechanism " << (request.size() > 5 ? request[5] : "?");
    EXPECT_FALSE(reply[3].empty());
    EXPECT_EQ(reply[4], "");
    EXPECT_EQ(handler_->denied_count(), ++denied);
  }
}

}  // namespace
