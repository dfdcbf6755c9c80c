// The real zrelay-broker against a client that holds an authorized key with no rights at all
// ("attacker"), or a key with rights that it abuses ("worker"), speaking ZMTP/CURVE itself
// (tests/support/curve_peer.hpp) where libzmq would refuse to send what it sends. Whatever it
// does, it achieves nothing beyond its own rights and losing its own connection: the broker
// stays up, other clients are served, nothing of theirs reaches it, and the broker's memory and
// work stay within their documented bounds (docs/security.md).
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <map>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/curve_peer.hpp"
#include "tests/support/named_certificate.hpp"
#include "tests/support/broker_checks.hpp"
#include "tests/support/peer.hpp"
#include "tests/support/raw_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using testing::CurvePeer;
using testing::Frames;
using testing::header;
using testing::i32;
using testing::named_certificate;
using testing::Process;
using testing::u32;
using testing::u64;

constexpr std::uint64_t MiB = 1 << 20;
constexpr std::uint64_t overhead = 64 * MiB;  // libzmq buffers, CURVE state, allocator slack
constexpr std::uint64_t max_message_size = MiB;

class AuthorizedAttacker : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir / "keys");
    broker_cert.save(dir / "broker");
    worker.save_public(dir / "keys" / "worker");
    attacker.save_public(dir / "keys" / "attacker");
    std::ofstream(dir / "broker.toml") << "[broker]\n"
                                       << "certificate = \"" << (dir / "broker").string() << "\"\n"
                                       << "authorized_keys = \"" << (dir / "keys").string() << "\"\n"
                                       << "admins = [\"worker\"]\n"
                                       << "[authorization]\ndefault = \"deny\"\n"
                                       << "[[authorization.rules]]\n"
                                       << "clients = [\"worker\"]\ngroups = [\"*\"]\nallow = [\"all\"]\n";
  }

  void start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{ZRELAY_BROKER_PATH, "--config", (dir / "broker.toml").string(), "--bind",
                                  "tcp://127.0.0.1:*", "--max-message-size", max_message_size_arg,
                                  "--heartbeat-ms", "200", "--liveness-ms", liveness_ms};
    args.insert(args.end(), extra.begin(), extra.end());
    broker = std::make_unique<Process>(args);
    address = broker->wait_for("listening on ", 20s).value_or("");
    ASSERT_FALSE(address.empty()) << broker->output();
    port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    witness = std::make_unique<Endpoint>(endpoint_options({"echo"}));
    baseline = testing::memory_bytes(broker->pid(), "VmRSS:");
  }

  [[nodiscard]] EndpointOptions endpoint_options(std::vector<std::string> groups) const {
    EndpointOptions options;
    options.broker = address;
    options.broker_public_key = broker_cert.public_key();
    options.certificate = worker;
    options.groups = std::move(groups);
    return options;
  }

  // A CURVE peer with `who`'s key that said HELLO and got WELCOME.
  [[nodiscard]] CurvePeer session(const Certificate& who, std::optional<std::string> routing_id = std::nullopt) {
    CurvePeer peer(port, testing::curve_key_from_z85(broker_cert.public_key()), testing::curve_keys_from_z85(who.public_key(), who.secret_key()),
                   std::move(routing_id));
    send(peer, {header(0x01), who.name(), testing::no_endpoint_id});
    const auto welcome = receive(peer, 10s);
    if (!welcome || welcome->at(0) != header(0x81)) throw std::runtime_error("no WELCOME for " + who.name());
    return peer;
  }

  static void send(CurvePeer& peer, const Frames& message) { peer.send_message(testing::wire(message)); }

  // The peer's next command, as its fields (the broker may send several in one message).
  std::optional<Frames> receive(CurvePeer& peer, std::chrono::milliseconds timeout) {
    return readers_[&peer].next([&] { return peer.receive(timeout); });
  }

  std::map<const CurvePeer*, testing::CommandReader> readers_;

  // The broker is up and a well-behaved endpoint still gets an item through it.
  void expect_others_served() { testing::expect_broker_serves(*broker, *witness); }

  void expect_memory_bounded(std::uint64_t held_at_most) {
    testing::expect_peak_memory_below(*broker, baseline, held_at_most + overhead);
  }

  // A member of `group` with small socket buffers that never reads.
  testing::RawClient deaf_member(const std::string& group) {
    testing::RawClient member(context, address, broker_cert.public_key(), worker, [](zmq::socket_t& s) {
      s.set(zmq::sockopt::rcvhwm, 4);
      s.set(zmq::sockopt::rcvbuf, 4096);
    });
    member.send({header(0x01), "deaf", testing::no_endpoint_id});
    EXPECT_EQ(member.receive().at(0), header(0x81));
    member.send({header(0x02), group});
    EXPECT_EQ(member.receive().at(0), header(0x82));
    return member;
  }

  // A number from the broker's statistics: the first `name`, or the first after `after`.
  [[nodiscard]] std::uint64_t stat(const std::string& name, const std::string& after = {}) {
    const std::string json = witness->broker_statistics();
    const std::string key = "\"" + name + "\":";
    const auto from = after.empty() ? 0 : json.find(after);
    const auto at = from == std::string::npos ? from : json.find(key, from);
    if (at == std::string::npos) throw std::runtime_error("no " + name + " in " + json);
    return std::stoull(json.substr(at + key.size()));
  }

  std::string liveness_ms = "1000";
  std::string max_message_size_arg = std::to_string(max_message_size);
  testing::TempDir dir;
  Certificate broker_cert = Certificate::generate();
  Certificate worker = named_certificate("worker");
  Certificate attacker = named_certificate("attacker");
  std::unique_ptr<Process> broker;
  std::string address;
  std::uint16_t port = 0;
  std::unique_ptr<Endpoint> witness;
  std::uint64_t baseline = 0;
  zmq::context_t context{1};
};

// Stock libzmq adopted announced routing ids: the next generated one aborted the broker when the
// next honest client connected, taken ones made honest clients fail "authenticated as another key".
TEST_F(AuthorizedAttacker, AnnouncedRoutingIdsNeverReachHonestClients) {
  start();
  std::vector<CurvePeer> squatters;
  for (std::uint8_t i = 0; i < 50; ++i) {
    // From 00 E4 3C 98 69: the first id stock libzmq generated on every start.
    squatters.push_back(session(attacker, std::string("\x00\xE4\x3C\x98", 4) + static_cast<char>(0x69 + i)));
  }
  for (int i = 0; i < 10; ++i) {
    Endpoint honest(endpoint_options({"honest"}));
    honest.notify("honest");
    (void)honest.produce_raw("item " + std::to_string(i), "honest");
    const auto got = honest.pop(1, 10s);
    ASSERT_EQ(got.size(), 1u) << "client " << i;
  }
  expect_others_served();
  EXPECT_EQ(broker->output().find("authenticated as another key"), std::string::npos) << broker->output();
}

// A key denied everything on `secret` announces the routing id a killed consumer of `secret` had:
// it must get none of what the broker still had for that consumer.
TEST_F(AuthorizedAttacker, AGoneConsumersRoutingIdGivesNothingToAnotherKey) {
  start();
  {
    CurvePeer consumer = session(worker, std::string("consumer-1"));
    send(consumer, {header(0x02), "secret"});
    ASSERT_EQ(receive(consumer, 10s)->at(0), header(0x82));
    send(consumer, {header(0x06), "secret", i32(20)});
    send(consumer, {header(0x07), u64(1)});
    ASSERT_EQ(receive(consumer, 10s)->at(0), header(0x86)) << "credits in place";
  }  // killed: the connection closes, its session waits for the liveness window
  CurvePeer thief = session(attacker, std::string("consumer-1"));
  Endpoint producer(endpoint_options({"secret"}));
  for (int i = 0; i < 20; ++i) (void)producer.produce_raw("secret " + std::to_string(i), "secret");
  producer.sync(10s);
  // Whatever the thief gets (a PING-free second is enough for 20 deliveries on loopback) is not a DELIVER.
  for (auto got = receive(thief, 1s); got; got = receive(thief, 200ms)) {
    EXPECT_NE(got->at(0), header(0x84)) << "a delivery meant for the gone consumer reached another key";
  }
  producer.notify("secret", 20);
  std::size_t delivered = 0;
  while (delivered < 20) {
    const auto batch = producer.pop(20 - delivered, 10s);
    if (batch.empty()) break;
    delivered += batch.size();
  }
  EXPECT_EQ(delivered, 20u) << "every item comes back to the queue for an honest consumer";
}

// Stock libzmq aborted (zmq_assert (!_io_error)) once such a peer had sent one more frame and left.
TEST_F(AuthorizedAttacker, BadBoxesCostOnlyTheSendersConnection) {
  start();
  for (int round = 0; round < 4; ++round) {
    for (int kind = 0; kind < 3; ++kind) {
      CurvePeer peer = session(attacker);
      std::this_thread::sleep_for(5ms);  // past libzmq's command throttle: the bug's precondition
      const std::string n = peer.seal_frame(testing::wire({header(0x07), u64(1)}).at(0), false);
      const std::string n_plus_1 = peer.seal_frame(testing::wire({header(0x07), u64(2)}).at(0), false);
      if (kind == 0) {  // replayed
        peer.send_raw(n);
        peer.send_raw(n);
      } else if (kind == 1) {  // out of order
        peer.send_raw(n_plus_1);
        peer.send_raw(n);
      } else {  // one flipped byte, as an attacker on the path could
        peer.send_raw(CurvePeer::flip_box_byte(n, 20));
      }
      peer.send_frame(testing::wire({header(0x07), u64(3)}).at(0), false);
      EXPECT_TRUE(peer.wait_closed(10s)) << "round " << round << " kind " << kind;
      peer.close();
    }
  }
  std::this_thread::sleep_for(1200ms);  // ZMTP heartbeats of the broker (1 s) reach the closed engines
  expect_others_served();
}

// Frames with MORE and never a last one: libzmq kept them all (RSS grew by the 512 MiB sent).
TEST_F(AuthorizedAttacker, AnEndlessMultipartMessageIsCutOffAtTheBound) {
  start();
  CurvePeer peer = session(attacker);
  const std::string frame(MiB, 'm');
  int sent = 0;
  try {
    for (; sent < 512; ++sent) peer.send_frame(frame, true);
  } catch (const std::exception&) {
    // the broker closed the connection: that is the point
  }
  EXPECT_LT(sent, 512) << "the broker kept reading an unfinished message of 512 MiB";
  EXPECT_TRUE(sent < 512 || peer.wait_closed(10s));
  expect_others_served();
  expect_memory_bounded(2 * max_message_size);
}

// 120 PRODUCE of one byte with 65535 copies: 6 million items if each were free.
TEST_F(AuthorizedAttacker, ManyCopiesOfTinyItemsStayWithinTheBudget) {
  start({"--max-payload-bytes", std::to_string(MiB)});
  auto peer = testing::RawClient(context, address, broker_cert.public_key(), worker);
  peer.send({header(0x01), "copies", testing::no_endpoint_id});
  ASSERT_EQ(peer.receive().at(0), header(0x81));
  for (std::uint64_t i = 1; i <= 120; ++i) {
    peer.send({header(0x05), u64(i), "g" + std::to_string(i % 60), u32(65535), "x"});
    EXPECT_EQ(peer.receive_error_code(), static_cast<std::uint16_t>(ErrorCode::over_budget)) << "PRODUCE " << i;
  }
  EXPECT_LE(stat("payload_bytes") + stat("overhead_bytes"), MiB);
  expect_others_served();
  expect_memory_bounded(MiB);
}

// A consumer that reads every item and never acknowledges one holds at most its bound.
TEST_F(AuthorizedAttacker, AConsumerThatNeverAcksHoldsAtMostItsBound) {
  liveness_ms = "60000";  // the consumer only reads: it must not expire while the producer works
  start({"--max-client-unacked", "1000"});
  auto peer = testing::RawClient(context, address, broker_cert.public_key(), worker);
  peer.send({header(0x01), "hoarder", testing::no_endpoint_id});
  ASSERT_EQ(peer.receive().at(0), header(0x81));
  peer.send({header(0x02), "jobs"});
  ASSERT_EQ(peer.receive().at(0), header(0x82));
  peer.send({header(0x06), "jobs", i32(100000)});
  Endpoint producer(endpoint_options({"jobs"}));
  for (int i = 0; i < 5; ++i) (void)producer.produce_raw("job", "jobs", 1000);
  producer.sync(10s);
  std::size_t delivered = 0;
  for (auto got = peer.try_receive(2s); got; got = peer.try_receive(500ms)) {
    if (got->at(0) == header(0x84)) ++delivered;
  }
  EXPECT_EQ(delivered, 1000u);
  EXPECT_EQ(stat("unacked", "\"name\":\"jobs\""), 1000u);
  expect_others_served();
}

// A consumer holding 2^31 credits in 5 groups of 100,000 items and never reading: before, every
// tick built the deliveries and put back what its full socket refused (the broker at 99 % CPU).
TEST_F(AuthorizedAttacker, ACreditHoarderThatNeverReadsCostsNoWorkPerTick) {
  liveness_ms = "10000";  // the hoarder is silent while 500,000 items are produced (slow under sanitizers)
  start();
  testing::RawClient hoarder(context, address, broker_cert.public_key(), worker,
                             [](zmq::socket_t& s) { s.set(zmq::sockopt::rcvhwm, 4); });
  hoarder.send({header(0x01), "hoarder", testing::no_endpoint_id});
  ASSERT_EQ(hoarder.receive().at(0), header(0x81));
  Endpoint producer(endpoint_options({}));
  const auto group = [](int g) { return "hoard" + std::to_string(g); };
  for (int g = 0; g < 5; ++g) {
    hoarder.send({header(0x02), group(g)});
    ASSERT_EQ(hoarder.receive().at(0), header(0x82));
    for (int i = 0; i < 2; ++i) (void)producer.produce_raw("x", group(g), 50000);
  }
  producer.sync(30s);
  for (int g = 0; g < 5; ++g) hoarder.send({header(0x06), group(g), i32(INT32_MAX)});
  const std::uint64_t refused_before = stat("refused_sends");
  std::vector<std::chrono::microseconds> round_trips;
  for (int i = 0; i < 20; ++i) {  // 2 s of ticks, a round trip every 100 ms
    hoarder.send({header(0x07), u64(static_cast<std::uint64_t>(i))});  // alive, never reading
    const auto sent = std::chrono::steady_clock::now();
    witness->notify("echo");
    (void)witness->produce_raw("ping", "echo");
    ASSERT_EQ(witness->pop(1, 10s).size(), 1u) << "round trip " << i;
    round_trips.push_back(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent));
    (void)witness->pop(1, 100ms);  // nothing comes: a pause with a purpose, ticks pass
  }
  // Reported, not asserted (speed is for benchmarks): before, the median was 1.8 s.
  std::sort(round_trips.begin(), round_trips.end());
  std::cout << "bystander round trip during the attack: median " << round_trips[10].count() << " us, max "
            << round_trips.back().count() << " us\n";
  const std::uint64_t refused = stat("refused_sends") - refused_before;
  EXPECT_LT(refused, 100u) << "the broker keeps trying what the socket refuses";
  std::cout << "refused sends during the attack: " << refused << "\n";
  EXPECT_EQ(stat("expired_clients"), 0u) << "a healthy client was expired";
  expect_others_served();
}

// Payloads up to 4 KiB are copied into each delivery's header frame: 2000 broadcasts of 4 KiB
// to 200 members that never read grew the broker by 695 MiB while the budget counted 3 MiB.
// Here 20 members with small socket buffers that never read: once the kernel's buffers for them
// are full (tcp_wmem's maximum per connection: 4 MiB here, more on other machines, so the test
// broadcasts until the copies pile up), copies wait in the broker, each member's within its
// pending bound, all in the budget.
TEST_F(AuthorizedAttacker, CopiesOfSmallBroadcastsToMembersThatNeverReadAreCharged) {
  liveness_ms = "60000";  // the members are silent; expired, their copies would be freed (seen in CI at 1 s)
  constexpr std::uint64_t budget = 256 * MiB;
  start({"--max-payload-bytes", std::to_string(budget)});
  std::vector<testing::RawClient> members;
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(members.push_back(deaf_member("w")));
  Endpoint broadcaster(endpoint_options({}));
  const std::string value(4096, 'v');
  const std::uint64_t at_bounds = 20 * (500 + 1) * (value.size() + 256) + 64 * 1024;
  std::uint64_t copies = 0;
  for (int sent = 0; sent < 40000 && copies <= 20 * 400 * value.size(); sent += 1000) {  // 160 MiB a member at most
    for (int i = 0; i < 1000; ++i) (void)broadcaster.broadcast_raw(value, "w");
    broadcaster.sync(60s);
    copies = stat("overhead_bytes");
    ASSERT_LE(copies, at_bounds) << "over the members' pending bounds after " << sent + 1000;
  }
  ASSERT_EQ(stat("expired_clients"), 0u) << "a member was forgotten, so its copies are not waiting";
  EXPECT_GT(copies, 20 * 400 * value.size()) << "the copies waiting for the members are not counted";
  expect_others_served();
  expect_memory_bounded(copies + MiB);
}

// A large broadcast to members that never read: each is streamed chunk by chunk from the one
// copy, as its connection takes them, so they hold nothing but what waits in their connections
// (before, each delivery was one message, which libzmq sealed in a CURVE box of its own: a copy
// of the object per member). A member that reads gets the object whole meanwhile.
TEST_F(AuthorizedAttacker, MembersThatNeverReadALargeBroadcastCostNoCopyOfIt) {
  constexpr std::size_t size = 128 * MiB;
  max_message_size_arg = std::to_string(256 * MiB);
  liveness_ms = "60000";  // the members are silent
  start({"--max-payload-bytes", std::to_string(1024 * MiB)});
  std::vector<testing::RawClient> members;
  for (int i = 0; i < 8; ++i) ASSERT_NO_FATAL_FAILURE(members.push_back(deaf_member("w")));
  Endpoint reader(endpoint_options({"w"}));
  {
    std::string value(size, 'w');
    for (std::size_t i = 0; i < size; i += 4096) value[i] = static_cast<char>(i / 4096);
    Endpoint broadcaster(endpoint_options({}));
    (void)broadcaster.broadcast_raw(value, "w");
    broadcaster.sync(60s);
    const auto got = reader.get_last(1, 60s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].text() == value) << "the reader's copy differs";
  }
  EXPECT_EQ(stat("expired_clients"), 0u);
  expect_others_served();
  expect_memory_bounded(size + 16 * MiB);
}

// 10 clients in the same 10,000 groups kept an idle broker at 72 % CPU (statistics rebuilt every
// tick); with 20, a healthy client was expired.
TEST_F(AuthorizedAttacker, ManyMembershipsCostNoWorkWhileIdle) {
  liveness_ms = "60000";  // the first members wait while the others join (slowly under sanitizers)
  start({"--max-groups", "20000"});
  std::vector<testing::RawClient> members;
  for (int c = 0; c < 10; ++c) {
    members.emplace_back(context, address, broker_cert.public_key(), worker);
    members.back().send({header(0x01), "member", testing::no_endpoint_id});
    ASSERT_EQ(members.back().receive().at(0), header(0x81));
    for (int g = 0; g < 10000; ++g) {
      members.back().send({header(0x02), "many" + std::to_string(g)});
      if (g % 1000 == 999) {  // read the JOINED replies as they come, a thousand at a time
        for (int r = 0; r < 1000; ++r) ASSERT_EQ(members.back().receive().at(0), header(0x82));
      }
    }
  }
  const auto cpu_before = testing::cpu_time(broker->pid());
  const auto wall_before = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {  // 2 s idle but for PINGs: every client stays alive
    for (auto& member : members) member.send({header(0x07), u64(static_cast<std::uint64_t>(i))});
    (void)witness->pop(1, 100ms);  // nothing comes: a pause with a purpose, ticks pass
  }
  const auto cpu = testing::cpu_time(broker->pid()) - cpu_before;
  const auto wall = std::chrono::steady_clock::now() - wall_before;
  std::cout << "idle broker CPU: " << cpu.count() << " ms\n";
  EXPECT_LT(cpu * 2, wall) << "the broker used " << cpu.count() << " ms of CPU in an idle "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count() << " ms";
  EXPECT_EQ(stat("expired_clients"), 0u) << "a healthy client was expired";
  expect_others_served();
}

}  // namespace
}  // namespace zrelay
