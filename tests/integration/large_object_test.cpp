// Objects larger than a chunk over a slow link (a throttling TCP proxy in front of the real
// broker): they arrive whole although crossing takes several liveness windows, while small
// traffic keeps flowing between their chunks, in both directions.
#include <string>
#include <thread>

#include "tests/support/relay_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

std::uint16_t port_of(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

// 6 MiB at 3 MB/s: two seconds on the wire, twice the liveness window below.
constexpr std::size_t object_size = 6 * 1024 * 1024;
constexpr std::uint64_t link_rate = 3'000'000;

// Bytes that tell where in which object they came from: a mix of two objects or a shifted
// chunk does not compare equal.
std::string object(char tag, std::size_t size = object_size) {
  std::string bytes(size, tag);
  for (std::size_t i = 0; i < size; i += 4096) bytes[i] = static_cast<char>(i / 4096);
  return bytes;
}

class LargeObjects : public testing::RelayFixture {
 protected:
  void SetUp() override { start_behind_proxy(1000ms); }

  // A broker with this liveness window (heartbeats four times as often) behind a link of link_rate.
  void start_behind_proxy(std::chrono::milliseconds liveness) {
    BrokerLimits limits;
    limits.heartbeat = liveness / 4;
    limits.liveness = liveness;
    proxy.reset();
    start_broker(limits);
    proxy = std::make_unique<testing::TcpProxy>(port_of(broker->endpoint()));
    proxy->set_rate(link_rate);
  }

  [[nodiscard]] std::unique_ptr<Endpoint> slow_endpoint(std::vector<std::string> groups) const {
    EndpointOptions options = options_for(std::move(groups), client_key);
    options.broker = proxy->endpoint();
    return std::make_unique<Endpoint>(std::move(options));
  }

  std::unique_ptr<testing::TcpProxy> proxy;
};

// The first job of users: model weights broadcast to a worker on a slow link. Before, the
// worker's session was forgotten every liveness window and the object started over, forever.
TEST_F(LargeObjects, ABroadcastSlowerThanTheLivenessWindowArrivesWhole) {
  auto worker = slow_endpoint({"weights", "news"});
  auto learner = endpoint();
  const std::string weights = object('w');
  (void)learner->broadcast_raw(weights, "weights");
  learner->sync();
  // Sent after the weights, on another group: it reaches the worker between their chunks.
  (void)learner->broadcast_raw("small", "news");
  learner->sync();

  std::vector<std::string> order;
  bool progress_seen = false;  // the worker's statistics show the weights on their way
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (order.size() < 2 && std::chrono::steady_clock::now() < until) {
    const TransferProgress p = worker->statistics().transfers;
    progress_seen |= p.receiving_total == weights.size() && p.receiving_done > 0 && p.receiving_done < p.receiving_total;
    for (const Message& m : worker->receive_all(50ms)) {
      order.push_back(m.group());
      if (m.group() == "weights") {
        EXPECT_TRUE(m.text() == weights) << "the weights arrived damaged";
      }
    }
  }
  ASSERT_EQ(order, (std::vector<std::string>{"news", "weights"})) << "the small object waited behind the large one";
  EXPECT_TRUE(progress_seen);
  EXPECT_EQ(worker->statistics().transfers.receiving_total, 0u) << "nothing is on its way any more";
  EXPECT_EQ(worker->statistics().sessions, 1u) << "a session was lost while the object crossed";
  EXPECT_EQ(broker->stats().expired_clients, 0u);
}

// A producer on a slow link uploads a large item; it stays alive by its progress, and its
// small objects of other groups are not held behind the chunks.
TEST_F(LargeObjects, AnUploadSlowerThanTheLivenessWindowIsQueuedOnce) {
  auto consumer = endpoint({"samples"});
  consumer->notify("samples", 10);
  auto producer = slow_endpoint({});
  const std::string batch = object('s');
  (void)producer->produce_raw(batch, "samples");
  (void)producer->produce_raw("small", "samples");  // same group: after the large one
  const auto until = std::chrono::steady_clock::now() + 30s;
  TransferProgress p;
  while (std::chrono::steady_clock::now() < until) {  // its statistics show the upload on its way
    p = producer->statistics().transfers;
    if (p.sending_done > 0 && p.sending_done < p.sending_total) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(p.sending_total, batch.size());
  EXPECT_GT(p.sending_done, 0u);
  // The upload takes 2 s: a timeout counts time without progress, not the transfer's time.
  producer->sync(500ms);
  const auto received = receive(*consumer, 2, 10s);
  ASSERT_EQ(received.size(), 2u);
  EXPECT_TRUE(received[0].text() == batch) << "the item arrived damaged or out of order";
  EXPECT_TRUE(received[1].text() == "small");
  EXPECT_EQ(producer->statistics().sessions, 1u);
  EXPECT_EQ(broker->stats().expired_clients, 0u);
}

// stop() drains an upload that takes longer than stop_timeout, as long as it moves.
TEST_F(LargeObjects, StopWaitsForAnUploadThatMoves) {
  auto consumer = endpoint({"samples"});
  consumer->notify("samples", 1);
  EndpointOptions options = options_for({}, client_key);
  options.broker = proxy->endpoint();
  options.stop_timeout = 500ms;
  Endpoint producer(std::move(options));
  const std::string batch = object('s');
  (void)producer.produce_raw(batch, "samples");
  try {
    producer.stop();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  const auto received = receive(*consumer, 1, 10s);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].text() == batch);
}

// A produced item streams to a consumer on a slow link and is acknowledged like any other.
TEST_F(LargeObjects, AProducedItemStreamsToASlowConsumer) {
  auto producer = endpoint();
  const std::string batch = object('p');
  (void)producer->produce_raw(batch, "jobs");
  producer->sync();
  auto consumer = slow_endpoint({"jobs"});
  consumer->notify("jobs", 1);
  const auto received = receive(*consumer, 1, 30s);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].text() == batch);
  EXPECT_EQ(received[0].attempt(), 1u);
  EXPECT_EQ(consumer->statistics().sessions, 1u);
}

// Values replaced faster than a member receives them: it gets complete values only, the one it
// was receiving finished first, then the newest, and nothing in between. The member's link
// stalls while the three values arrive (12 MiB each: more than the kernel's buffers and the
// broker's window hold, so the first is still streaming), then goes at full speed.
TEST_F(LargeObjects, AMemberBehindEndsWithTheNewestCompleteValue) {
  start_behind_proxy(5000ms);  // the stall must not look like a dead peer
  auto worker = slow_endpoint({"weights"});
  auto learner = endpoint();
  constexpr std::size_t size = 12 * 1024 * 1024;
  const std::string v1 = object('1', size);
  const std::string v2 = object('2', size);
  const std::string v3 = object('3', size);
  proxy->set_rate(1);  // stalled
  for (const std::string* v : {&v1, &v2, &v3}) (void)learner->broadcast_raw(*v, "weights");
  learner->sync();
  proxy->set_rate(0);
  std::vector<char> tags;
  const auto until = std::chrono::steady_clock::now() + 30s;
  while ((tags.empty() || tags.back() != '3') && std::chrono::steady_clock::now() < until) {
    for (const Message& m : worker->receive_all(100ms)) {
      const std::string_view text = m.text();
      ASSERT_TRUE(text == v1 || text == v2 || text == v3) << "a value arrived mixed or damaged";
      tags.push_back(text[1]);
    }
  }
  EXPECT_EQ(tags, (std::vector<char>{'1', '3'})) << "v2 was replaced while v1 streamed: never sent";
  EXPECT_EQ(worker->statistics().sessions, 1u);
}

// Objects up to 4 GiB with the default settings (max_message_size 4 GiB, a budget of half the
// memory): one of exactly 4 GiB from one endpoint to another through the broker. About 13 GiB
// of memory (the test's bytes, the sender's message, the broker's copy, the receiver's), so a
// soak: ZRELAY_SOAK=1 ctest -R FourGibibyteSoak.
class LargeObjectSoak : public testing::RelayFixture {};

TEST_F(LargeObjectSoak, FourGibibyteSoak) {
  if (std::getenv("ZRELAY_SOAK") == nullptr) GTEST_SKIP() << "set ZRELAY_SOAK=1 to run it";
  constexpr std::size_t size = std::size_t{4} << 30;
  auto worker = endpoint({"weights"});
  {
    auto learner = endpoint();
    std::string weights(size, 'w');
    for (std::size_t i = 0; i < size; i += 1 << 20) weights[i] = static_cast<char>(i >> 20);
    (void)learner->broadcast_raw(weights, "weights");
    learner->sync(60s);
  }
  const auto got = worker->get_last(1, 120s);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].size(), size);
  for (std::size_t i = 0; i < size; i += 1 << 20) ASSERT_EQ(got[0].text()[i], static_cast<char>(i >> 20)) << i;
  EXPECT_EQ(got[0].text()[size - 1], 'w');
}

}  // namespace
}  // namespace zrelay
