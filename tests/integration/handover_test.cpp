// The hand-over across a connection blip: a TCP proxy between a consumer and the real broker
// cuts the connection while the consumer holds items it never took.
#include <set>

#include "tests/support/relay_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

std::uint16_t port_of(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

class Handover : public testing::RelayFixture {
 protected:
  [[nodiscard]] std::unique_ptr<Endpoint> endpoint_through(const testing::TcpProxy& proxy,
                                                          std::vector<std::string> groups) const {
    EndpointOptions options = options_for(std::move(groups), client_key);
    options.broker = proxy.endpoint();
    return std::make_unique<Endpoint>(std::move(options));
  }
};

// notify(jobs, 100), 100 items arrive, 10 are taken, the connection blips: the 90 others go back
// to the broker's queue, and the new session asks for them again, so they all arrive (before,
// the new session asked for none and pop waited forever).
TEST_F(Handover, CreditsOfItemsNotTakenComeBackAfterABlip) {
  testing::TcpProxy proxy(port_of(broker->endpoint()));
  auto producer = endpoint();
  for (int i = 0; i < 100; ++i) producer->produce(i, "jobs");
  producer->sync();
  auto consumer = endpoint_through(proxy, {"jobs"});
  consumer->notify("jobs", 100);
  consumer->sync();  // the 100 items are in its local queue

  std::set<int> taken;
  for (const Message& m : consumer->pop(10)) taken.insert(m.as<int>());
  ASSERT_EQ(taken.size(), 10u);
  consumer->sync();  // their acks reached the broker
  proxy.cut();
  // The 90 not taken are dropped once the loss is known, and the new session opens.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (consumer->statistics().sessions < 2 && std::chrono::steady_clock::now() < until) {
    (void)consumer->wait_for_connection_state(ConnectionState::reconnecting, 10ms);
  }
  ASSERT_EQ(consumer->statistics().sessions, 2u);
  EXPECT_EQ(consumer->statistics().returned_items, 90u);

  for (const Message& m : receive(*consumer, 90, 20s)) {
    EXPECT_TRUE(taken.insert(m.as<int>()).second) << "item " << m.as<int>() << " twice";
  }
  EXPECT_EQ(taken.size(), 100u) << "the consumer stalled: its credits did not come back";
  EXPECT_EQ(proxy.accepted(), 2u);
}

// A producer whose connection blips while it sends: what the broker handled but had not
// confirmed is sent again on the new session, and the broker applies it once (idempotent
// producer), so the queue holds each item exactly once, with the object id it was sent as.
TEST_F(Handover, ObjectsSentAgainAfterBlipsAreQueuedOnce) {
  testing::TcpProxy proxy(port_of(broker->endpoint()));
  auto producer = endpoint_through(proxy, {});
  constexpr int items = 3000;
  for (int i = 0; i < items; ++i) {
    producer->produce(i, "jobs");
    if (i % 500 == 250) proxy.cut();  // objects on their way and unconfirmed ones are resent
  }
  producer->sync(20s);
  EXPECT_GE(producer->statistics().sessions, 2u);
  EXPECT_GT(producer->statistics().resent, 0u) << "no object was sent again: the test shows nothing";

  auto consumer = endpoint({"jobs"});
  consumer->notify("jobs", items + 10);
  std::set<int> values;
  std::set<ObjectId> objects;
  for (const Message& m : receive(*consumer, items, 20s)) {
    EXPECT_TRUE(values.insert(m.as<int>()).second) << "item " << m.as<int>() << " queued twice";
    EXPECT_TRUE(objects.insert(m.object_id()).second);
    EXPECT_EQ(m.object_id().producer, producer->id());
    EXPECT_EQ(m.object_id().copy, 1u);
  }
  EXPECT_EQ(values.size(), static_cast<std::size_t>(items));
  consumer->sync();
  EXPECT_TRUE(consumer->receive_all().empty()) << "more items than were produced";
}

// One PRODUCE of 65535 copies into a drop-oldest queue of 10 with no consumer: one item_dropped
// with the count, and the producer keeps its session (before, 65525 errors overflowed its
// backlog: it was forgotten, resent the PRODUCE, and so on forever).
TEST_F(Handover, ABigProduceIntoAFullDropOldestQueueKeepsItsProducer) {
  BrokerLimits limits;
  limits.default_group.max_consumables = 10;
  limits.default_group.overflow = Overflow::drop_oldest;
  start_broker(limits);
  auto producer = endpoint();
  const auto seq = producer->produce_raw("x", "q", 65535);
  producer->sync();
  const auto refusals = producer->take_refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].code, ErrorCode::item_dropped);
  EXPECT_EQ(refusals[0].seq, seq);
  EXPECT_NE(refusals[0].text.find("65525 items"), std::string::npos) << refusals[0].text;
  EXPECT_EQ(producer->statistics().sessions, 1u);
  EXPECT_EQ(producer->statistics().resent, 0u);
}

}  // namespace
}  // namespace zrelay
