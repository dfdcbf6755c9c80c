// What a buggy or hostile client can do to the real zrelay-broker: garbage before the handshake,
// oversized and endless messages, wrong versions, refused groups, extreme credits, connection
// churn, never reading, floods of malformed messages. Each time the broker keeps running, a
// well-behaved endpoint still gets its round trip, the broker's memory stays bounded, the
// offender gets an error or loses its connection, and the broker's log says so (within bounds).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <thread>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/broker_checks.hpp"
#include "tests/support/peer.hpp"
#include "tests/support/raw_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using testing::Frames;
using testing::header;
using testing::i32;
using testing::Process;
using testing::u64;

constexpr std::uint64_t MiB = 1 << 20;
// libzmq's buffers, CURVE state and allocator slack: what the broker may grow by on top of
// what it is configured to hold.
constexpr std::uint64_t overhead = 64 * MiB;

class HostileClients : public ::testing::Test {
 protected:
  void SetUp() override {
    broker = std::make_unique<Process>(
        std::vector<std::string>{ZRELAY_BROKER_PATH, "--bind", "tcp://127.0.0.1:*", "--max-message-size",
                                 std::to_string(MiB), "--max-client-pending-bytes", std::to_string(4 * MiB),
                                 "--heartbeat-ms", "200", "--liveness-ms", "1000", "--admin", "client", "--group",
                                 "echo", "--group", "flood", "--group", "credits"},
        std::vector<std::string>{"ZRELAY_STATE_DIR=" + (dir / "state").string()});
    key = broker->wait_for("broker public key: ", 20s).value_or("");
    address = broker->wait_for("listening on ", 20s).value_or("");
    ASSERT_FALSE(address.empty()) << broker->output();
    client = Certificate::load(dir / "state" / "client");
    EndpointOptions options;
    options.broker = address;
    options.broker_public_key = key;
    options.certificate = client;
    options.groups = {"echo"};
    witness = std::make_unique<Endpoint>(options);
    baseline = testing::memory_bytes(broker->pid(), "VmRSS:");
  }

  // The broker is up and a well-behaved endpoint still gets an item through it.
  void expect_others_served() { testing::expect_broker_serves(*broker, *witness); }

  void expect_memory_bounded(std::uint64_t held_at_most) {
    testing::expect_peak_memory_below(*broker, baseline, held_at_most + overhead);
  }

  // Waits until the broker has forgotten every session but the witness's.
  void expect_sessions_forgotten() {
    const auto until = std::chrono::steady_clock::now() + 15s;
    std::string json;
    while (std::chrono::steady_clock::now() < until) {
      json = witness->broker_statistics();
      if (json.find("\"clients\":1,") != std::string::npos) return;
      (void)witness->pop(1, 100ms);  // a pause with a purpose: the broker's timer forgets silent clients
    }
    ADD_FAILURE() << "sessions still open: " << json;
  }

  [[nodiscard]] testing::RawClient raw() { return testing::RawClient(context, address, key, client); }

  // A plain TCP connection to the broker's port, for bytes that are not ZMTP at all.
  [[nodiscard]] int tcp_connection() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
    return fd;
  }

  static void write_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;  // the broker closed it: that is the point
      sent += static_cast<std::size_t>(n);
    }
  }

  static void hello(testing::RawClient& peer) {
    peer.send({header(0x01), "hostile", testing::no_endpoint_id});
    ASSERT_EQ(peer.receive().at(0), header(0x81)) << "no WELCOME";
  }

  testing::TempDir dir;
  std::unique_ptr<Process> broker;
  std::string key;
  std::string address;
  Certificate client;
  std::unique_ptr<Endpoint> witness;
  std::uint64_t baseline = 0;
  zmq::context_t context{1};
};

TEST_F(HostileClients, GarbageAndHugeLengthsBeforeTheHandshake) {
  std::string garbage(64 * 1024, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 7919) & 0xFF);
  // A ZMTP 3.0 greeting for CURVE, then a command frame that claims 2^40 bytes.
  std::string greeting("\xFF\0\0\0\0\0\0\0\x01\x7F\x03\x00", 12);
  greeting += std::string("CURVE") + std::string(15, '\0') + std::string(32, '\0');
  const std::string huge_frame = std::string("\x06", 1) + std::string("\x00\x00\x01\x00\x00\x00\x00\x00", 8);
  for (int i = 0; i < 20; ++i) {
    const int fd = tcp_connection();
    write_all(fd, i % 2 == 0 ? garbage : greeting + huge_frame + garbage);
    ::close(fd);
  }
  const auto logged = broker->wait_for_text("closed before completing the handshake", 10s);
  EXPECT_TRUE(logged) << broker->output();
  expect_others_served();
  expect_memory_bounded(0);
}

TEST_F(HostileClients, AFrameOverTheLimitAfterAuthenticationCostsOnlyTheSenderItsConnection) {
  auto peer = raw();
  hello(peer);
  peer.send({header(0x04), u64(1), "echo", std::string(2 * MiB, 'x')});
  // libzmq drops the connection, with what followed the big frame; the DEALER reconnects as a
  // new peer the broker does not know. PING until the new connection answers.
  std::optional<Frames> answer;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (!answer && std::chrono::steady_clock::now() < until) {
    peer.send({header(0x07), u64(5)});
    answer = peer.try_receive(200ms);
  }
  ASSERT_TRUE(answer.has_value()) << "no answer on a new connection";
  EXPECT_EQ(answer->at(0), header(0x85));
  EXPECT_EQ(answer->at(1), std::string("\0\x03", 2)) << "hello_expected: the old session is gone";
  expect_others_served();
  expect_memory_bounded(2 * MiB);
}

TEST_F(HostileClients, ThousandsOfFramesWrongVersionsAndRefusedGroupsGetErrors) {
  auto peer = raw();
  hello(peer);
  Frames endless{header(0x07)};
  for (int i = 0; i < 10000; ++i) endless.emplace_back("frame");
  peer.send_wire(endless);  // 10001 frames on the wire
  EXPECT_EQ(peer.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::malformed_message));
  peer.send(endless);  // 10000 fields in the header frame
  EXPECT_EQ(peer.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::malformed_message));
  peer.send({std::string("ZR\x01\x07", 4), u64(1)});  // version 1
  EXPECT_EQ(peer.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::bad_version));
  peer.send({header(0x02), "not-accepted"});
  EXPECT_EQ(peer.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::unknown_group));
  peer.send({header(0x0A), u64(3)});  // STATS needs the stats right: this key has it (--admin client)
  EXPECT_EQ(peer.receive().at(0), header(0x88));
  peer.expect_pong(9);
  EXPECT_TRUE(broker->wait_for_text("more than 8 frames", 10s)) << "the refusal is logged";
  expect_others_served();
}

TEST_F(HostileClients, ExtremeCreditCountsAreCappedAndZeroIsRefused) {
  auto peer = raw();
  hello(peer);
  peer.send({header(0x02), "credits"});
  EXPECT_EQ(peer.receive().at(0), header(0x82));
  peer.send({header(0x06), "credits", i32(INT32_MAX)});
  peer.send({header(0x06), "credits", i32(INT32_MAX)});
  peer.send({header(0x06), "credits", i32(INT32_MIN)});
  peer.send({header(0x06), "credits", i32(0)});
  EXPECT_EQ(peer.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::invalid_argument));
  for (int i = 0; i < 3; ++i) (void)witness->produce_raw("item-" + std::to_string(i), "credits");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(peer.receive().at(0), header(0x84)) << "item " << i;
  expect_others_served();
}

TEST_F(HostileClients, ConnectionChurnLeavesNothingBehind) {
  for (int i = 0; i < 200; ++i) {
    auto peer = raw();
    hello(peer);
    if (i % 2 == 0) peer.send({header(0x02), "flood"});
  }  // closed without BYE, linger 0
  expect_others_served();
  expect_sessions_forgotten();
  expect_memory_bounded(0);
  EXPECT_EQ(broker->output().find("closed before completing the handshake"), std::string::npos)
      << "authenticated connections are not reported as failed handshakes\n"
      << broker->output();
}

TEST_F(HostileClients, AClientThatNeverReadsIsBoundedThenForgotten) {
  testing::RawClient peer(context, address, key, client, [](zmq::socket_t& s) { s.set(zmq::sockopt::rcvhwm, 4); });
  hello(peer);
  peer.send({header(0x02), "flood"});
  const std::string weights(256 * 1024, 'w');
  for (int i = 0; i < 400; ++i) (void)witness->broadcast_raw(weights, "flood");  // 100 MiB for a peer that never reads
  witness->sync(60s);
  expect_others_served();
  expect_memory_bounded(4 * MiB + weights.size());
  expect_sessions_forgotten();  // it sends nothing, not even a PING: silent past liveness
  EXPECT_TRUE(broker->wait_for_text("session forgotten", 10s)) << broker->output();
}

TEST_F(HostileClients, AFloodOfMalformedMessagesIsLoggedWithinBounds) {
  auto peer = raw();
  hello(peer);
  for (int i = 0; i < 3000; ++i) peer.send({"garbage"});
  peer.send({header(0x07), u64(1)});
  int errors = 0;
  for (Frames reply = peer.receive(); reply.at(0) != header(0x86); reply = peer.receive()) ++errors;
  EXPECT_EQ(errors, 3000) << "each got its ERROR, in order, before the PONG";
  ASSERT_TRUE(broker->wait_for_text("log lines suppressed", 10s)) << "the excess is counted in one line";
  const std::string log = broker->output();
  std::size_t lines = 0;
  for (std::size_t at = log.find("refused a message"); at != std::string::npos; at = log.find("refused a message", at + 1)) {
    ++lines;
  }
  EXPECT_GT(lines, 0u);
  EXPECT_LE(lines, 200u) << "3000 malformed messages must not mean 3000 log lines";
  expect_others_served();
}

}  // namespace
}  // namespace zrelay
