// A client that speaks docs/protocol.md with plain libzmq, as one in another language would, and
// sends the broker what a buggy or hostile client might. The broker answers and keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <zmq.hpp>

#include "protocol/zmq_compat.hpp"
#include "tests/support/raw_client.hpp"
#include "tests/support/relay_fixture.hpp"

namespace zrelay {
namespace {

using testing::Frames;
using testing::header;
using testing::i32;
using testing::u32;
using testing::u64;

// The raw client of tests/support/raw_client.hpp, connected to the fixture's broker.
class RawClient : public testing::RawClient {
 public:
  RawClient(zmq::context_t& context, const Broker& broker, const Certificate& key)
      : testing::RawClient(context, broker.endpoint(), broker.public_key(), key) {}
};

class RawClientTest : public testing::RelayFixture {
 protected:
  zmq::context_t context{1};
};

// Waits until the broker's published numbers satisfy `done` (they are refreshed every tick).
template <class Predicate>
BrokerStatistics wait_for_stats(const Broker& broker, Predicate done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  BrokerStatistics stats = broker.stats();
  while (!done(stats) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition, with a deadline
    stats = broker.stats();
  }
  return stats;
}

std::uint64_t acked_in(const BrokerStatistics& stats, const std::string& group) {
  for (const auto& g : stats.groups) {
    if (g.name == group) return g.acked;
  }
  return 0;
}

TEST_F(RawClientTest, SpeaksTheProtocolWithPlainLibzmq) {
  RawClient client(context, *broker, client_key);
  client.send({header(0x01), "python-worker", testing::no_endpoint_id});
  const auto welcome = client.receive();
  ASSERT_EQ(welcome.size(), 6u);
  EXPECT_EQ(welcome[0], header(0x81));
  EXPECT_EQ(welcome[1], u64(BrokerLimits{}.max_message_size));
  EXPECT_EQ(welcome[3].size(), 8u) << "broker instance";
  EXPECT_EQ(welcome[4], u32(1000)) << "heartbeat ms";
  EXPECT_EQ(welcome[5], u32(3000)) << "liveness ms";
  client.send({header(0x02), "g"});
  EXPECT_EQ(client.receive(), (Frames{header(0x82), "g"}));

  auto cpp = endpoint();
  cpp->produce_raw(std::string_view("from C++"), "g");
  cpp->sync();
  client.send({header(0x06), "g", i32(1)});
  const auto deliver = client.receive();
  ASSERT_EQ(deliver.size(), 9u);
  EXPECT_EQ(deliver[0], header(0x84));
  EXPECT_EQ(deliver[1], "g");
  EXPECT_EQ(deliver[2], std::string(1, '\x02'));
  EXPECT_EQ(deliver[4], u32(1)) << "first attempt";
  const EndpointId producer = cpp->id();
  EXPECT_EQ(deliver[5], std::string(producer.begin(), producer.end())) << "object id: the producer's endpoint id";
  EXPECT_EQ(deliver[6], u64(1)) << "object id: its seq";
  EXPECT_EQ(deliver[7], u32(1)) << "object id: copy 1";
  EXPECT_EQ(deliver[8], "from C++");
  client.send({header(0x09), deliver[3]});  // ACK its delivery id
  EXPECT_EQ(acked_in(wait_for_stats(*broker, [](const auto& s) { return acked_in(s, "g") == 1; }), "g"), 1u);

  client.send({header(0x08)});
  EXPECT_EQ(client.receive(), (Frames{header(0x87), std::string(1, '\0')}));
}

TEST_F(RawClientTest, AnItemHeldAtByeGoesToAnotherConsumerWithItsId) {
  RawClient client(context, *broker, client_key);
  client.send({header(0x01), "holder", testing::no_endpoint_id});
  (void)client.receive();
  client.send({header(0x02), "g"});
  (void)client.receive();
  client.send({header(0x06), "g", i32(1)});
  client.send({header(0x07), u64(9)});
  EXPECT_EQ(client.receive(), (Frames{header(0x86), u64(9)})) << "the credit is registered";
  auto cpp = endpoint({"g"});
  cpp->produce_raw(std::string_view("work"), "g");
  const auto deliver = client.receive();
  ASSERT_EQ(deliver.size(), 9u);
  client.send({header(0x08)});  // BYE without ACK
  EXPECT_EQ(client.receive(), (Frames{header(0x87), std::string(1, '\0')}));
  cpp->notify("g", 1);
  const auto got = receive(*cpp, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text(), "work");
  EXPECT_EQ(u64(got[0].delivery_id()), deliver[3]);
  EXPECT_EQ(got[0].attempt(), 2u);
}

TEST_F(RawClientTest, StopSaysGoodbyeShuttingDownToEveryClient) {
  RawClient first(context, *broker, client_key);
  RawClient second(context, *broker, client_key);
  for (RawClient* client : {&first, &second}) {
    client->send({header(0x01), "raw", testing::no_endpoint_id});
    (void)client->receive();
  }
  EXPECT_TRUE(broker->serving());
  broker->stop();
  EXPECT_FALSE(broker->serving());
  const Frames goodbye{header(0x87), std::string(1, '\x01')};
  EXPECT_EQ(first.receive(), goodbye);
  EXPECT_EQ(second.receive(), goodbye);
}

TEST_F(RawClientTest, ASilentClientGetsGoodbyeExpired) {
  BrokerLimits limits;
  limits.heartbeat = std::chrono::milliseconds(20);
  limits.liveness = std::chrono::milliseconds(200);
  start_broker(limits);
  RawClient client(context, *broker, client_key);
  client.send({header(0x01), "silent", testing::no_endpoint_id});
  const auto welcome = client.receive();
  ASSERT_EQ(welcome.size(), 6u);
  EXPECT_EQ(welcome[4], u32(20));
  EXPECT_EQ(welcome[5], u32(200));
  EXPECT_EQ(client.receive(), (Frames{header(0x87), std::string(1, '\x02')}));
  client.send({header(0x07), u64(1)});
  EXPECT_EQ(client.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::hello_expected))
      << "the broker forgot it";
}

TEST_F(RawClientTest, CommandBeforeHelloIsRefused) {
  RawClient client(context, *broker, client_key);
  client.send({header(0x02), "g"});
  EXPECT_EQ(client.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::hello_expected));
}

// Several commands in one batch frame (what a client in another language may send): each is
// handled as if it came alone, in order; a malformed one ends the batch, the ones before stand.
TEST_F(RawClientTest, ABatchOfCommandsIsHandledInOrderUntilAMalformedOne) {
  RawClient client(context, *broker, client_key);
  client.send({header(0x01), "batcher", testing::no_endpoint_id});
  (void)client.receive();
  const auto command_of = [](const Frames& fields) { return testing::wire(fields).at(0).substr(4); };
  std::string batch = std::string("ZR\x03\x00", 4) + command_of({header(0x02), "g"}) +
                      command_of({header(0x06), "g", i32(2)}) + command_of({header(0x07), u64(41)});
  client.send_wire({batch});
  EXPECT_EQ(client.receive(), (Frames{header(0x82), "g"}));
  EXPECT_EQ(client.receive(), (Frames{header(0x86), u64(41)}));

  batch = std::string("ZR\x03\x00", 4) + command_of({header(0x07), u64(42)}) + std::string("\x7E\0\0\0\0", 5) +
          command_of({header(0x07), u64(43)});
  client.send_wire({batch});
  EXPECT_EQ(client.receive(), (Frames{header(0x86), u64(42)})) << "the command before the bad one stands";
  EXPECT_EQ(client.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::malformed_message));
  client.expect_pong(44);  // 43 was dropped with the rest of the batch
}

TEST_F(RawClientTest, MalformedMessagesGetErrorsAndTheBrokerKeepsServing) {
  RawClient client(context, *broker, client_key);
  client.send({header(0x01), "", testing::no_endpoint_id});
  (void)client.receive();
  const std::vector<std::pair<Frames, ErrorCode>> cases = {
      {{"garbage"}, ErrorCode::bad_version},
      {{std::string("ZR\x09\x02", 4), "g"}, ErrorCode::bad_version},
      {{header(0x02)}, ErrorCode::malformed_message},
      {{header(0x02), ""}, ErrorCode::malformed_message},
      {{header(0x02), std::string("a\0b", 3)}, ErrorCode::malformed_message},
      {{header(0x04), "short", "g", "p"}, ErrorCode::malformed_message},
      {{header(0x06), "g", "xx"}, ErrorCode::malformed_message},
      {{header(0x7e)}, ErrorCode::malformed_message},
      {{header(0x81), u64(1), "v"}, ErrorCode::malformed_message},
      {{header(0x09), "1234567"}, ErrorCode::malformed_message},
      {{header(0x05), u64(1), "g", std::string(4, '\0'), "p"}, ErrorCode::invalid_argument},
      {{header(0x06), "g", i32(5)}, ErrorCode::not_member},
      {Frames{}, ErrorCode::malformed_message},
  };
  for (const auto& [frames, code] : cases) {
    if (frames.empty()) continue;  // an empty multipart message cannot be sent
    client.send(frames);
    EXPECT_EQ(client.receive_error_code(), static_cast<std::uint16_t>(code)) << "frames: " << frames.size();
  }
  client.send_wire(Frames(50, "x"));  // 50 frames on the wire
  EXPECT_EQ(client.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::malformed_message));
  client.expect_pong(99);
  auto other = endpoint({"g"});  // and other clients are served
  other->sync();
}

TEST_F(RawClientTest, ThousandsOfFramesInOneMessageAreDroppedWithBoundedMemory) {
  RawClient client(context, *broker, client_key);
  client.send({header(0x01), "", testing::no_endpoint_id});
  (void)client.receive();
  client.send_wire(Frames(20000, std::string(16, 'f')));
  EXPECT_EQ(client.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::malformed_message));
  client.expect_pong(1);
}

TEST_F(RawClientTest, FrameOverMaxMessageSizeDisconnectsOnlyTheSender) {
  BrokerLimits limits;
  limits.max_message_size = 64 * 1024;
  start_broker(limits);
  auto bystander = endpoint({"g"});
  RawClient client(context, *broker, client_key);
  client.send({header(0x01), "", testing::no_endpoint_id});
  (void)client.receive();
  // Over max_message_size + 256 KiB (the largest batch frame): libzmq's ZMQ_MAXMSGSIZE.
  client.send({header(0x04), u64(1), "g", std::string(64 * 1024 + 256 * 1024 + 1, 'x')});
  // The broker drops the connection; libzmq reconnects on its own, as a new, unknown client.
  std::optional<Frames> reply;
  for (int attempt = 0; attempt < 40 && !reply; ++attempt) {
    client.send({header(0x07), u64(5)});
    reply = client.try_receive(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->at(0), header(0x85)) << "the oversized message ended the session";
  EXPECT_EQ(reply->at(1), std::string("\x00\x03", 2)) << "hello_expected";
  bystander->broadcast(std::string("still here"), "g");
  auto got = receive(*bystander, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].as<std::string>(), "still here");
}

TEST_F(RawClientTest, ConnectionThatNeverCompletesTheHandshakeIsClosed) {
  start_broker({}, std::chrono::milliseconds(300));
  const std::string address = broker->endpoint();  // tcp://127.0.0.1:PORT
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<std::uint16_t>(port));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target), 0);
  // Say nothing. The broker sends its greeting, then must hang up once the handshake interval passes.
  bool closed = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!closed && std::chrono::steady_clock::now() < until) {
    pollfd item{fd, POLLIN, 0};
    if (::poll(&item, 1, 100) <= 0) continue;
    char buffer[256];
    closed = ::read(fd, buffer, sizeof buffer) <= 0;
  }
  ::close(fd);
  EXPECT_TRUE(closed) << "a silent connection must not hold a broker slot for ever";
}

TEST_F(RawClientTest, PlaintextClientGetsNothingAccepted) {
  zmq::socket_t plain(context, zmq::socket_type::dealer);
  plain.set(zmq::sockopt::linger, 0);
  plain.connect(broker->endpoint());
  const std::string hello = header(0x01);
  (void)plain.send(zmq::message_t(hello.data(), hello.size()), zmq::send_flags::sndmore);
  (void)plain.send(zmq::message_t(), zmq::send_flags::none);
  zmq::pollitem_t item{plain.handle(), 0, ZMQ_POLLIN, 0};
  EXPECT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(500)), 0) << "no WELCOME without CURVE";
  auto member = endpoint({"g"});
  member->sync();
}

}  // namespace
}  // namespace zrelay
