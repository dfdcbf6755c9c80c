// tlspyo's own scenarios, through a real broker and real endpoints on loopback.
#include <set>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "tests/support/relay_fixture.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> strings(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.as<std::string>());
  return out;
}

class TlspyoScenarios : public testing::RelayFixture {};

TEST_F(TlspyoScenarios, QuickStart) {
  auto prod = endpoint({"producers"});
  auto cons_1 = endpoint({"consumers"});
  auto cons_2 = endpoint({"consumers"});

  prod->broadcast(std::string("I HAVE BEEN BROADCAST"), "consumers");
  prod->produce(std::string("I HAVE BEEN PRODUCED"), "consumers");
  cons_1->notify("consumers");

  const auto res = receive(*cons_1, 2);
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(strings(res), (std::vector<std::string>{"I HAVE BEEN BROADCAST", "I HAVE BEEN PRODUCED"}));
  EXPECT_EQ(res[0].kind(), Kind::broadcast);
  EXPECT_EQ(res[1].kind(), Kind::produced);

  EXPECT_EQ(strings(cons_2->receive_all(forever)), std::vector<std::string>{"I HAVE BEEN BROADCAST"});
  cons_2->sync();
  EXPECT_TRUE(cons_2->receive_all(no_wait).empty()) << "consumer 2 never notified: no produced item";

  prod->stop();
  cons_1->stop();
  cons_2->stop();
  broker->stop();
}

TEST_F(TlspyoScenarios, LateJoinerReceivesOnlyTheLastBroadcast) {
  auto sender = endpoint({"g"});
  sender->broadcast(std::string("v1"), "g");
  sender->broadcast(std::string("v2"), "g");
  ASSERT_EQ(strings(receive(*sender, 2)), (std::vector<std::string>{"v1", "v2"}));

  auto late = endpoint({"g"});
  late->sync();
  EXPECT_EQ(strings(late->receive_all(no_wait)), std::vector<std::string>{"v2"});
}

TEST_F(TlspyoScenarios, ProduceBeforeAndAfterNotify) {
  auto producer = endpoint();
  auto consumer = endpoint({"work"});
  producer->produce(std::string("before"), "work");
  producer->sync();
  consumer->notify("work");
  EXPECT_EQ(strings(receive(*consumer, 1)), std::vector<std::string>{"before"});

  consumer->notify("work");
  consumer->sync();  // the credit is at the broker before the item exists
  producer->produce(std::string("after"), "work");
  EXPECT_EQ(strings(receive(*consumer, 1)), std::vector<std::string>{"after"});
}

TEST_F(TlspyoScenarios, NotifyWithSeveralCreditsAndWithMinusOne) {
  auto producer = endpoint();
  auto consumer = endpoint({"work"});
  for (int i = 0; i < 10; ++i) producer->produce(std::to_string(i), "work");
  producer->sync();

  consumer->notify("work", 3);
  EXPECT_EQ(strings(receive(*consumer, 3)), (std::vector<std::string>{"0", "1", "2"}));
  consumer->sync();
  EXPECT_TRUE(consumer->pop(1, no_wait).empty()) << "three credits, three items";

  consumer->notify("work", -1);
  EXPECT_EQ(strings(receive(*consumer, 7)), (std::vector<std::string>{"3", "4", "5", "6", "7", "8", "9"}));
  producer->produce(std::string("later"), "work");
  producer->sync();
  consumer->sync();
  EXPECT_TRUE(consumer->pop(1, no_wait).empty()) << "notify(-1) leaves no credit behind";
}

TEST_F(TlspyoScenarios, ConsumersShareTheQueueWithoutDuplicates) {
  constexpr int items = 300;
  auto producer = endpoint();
  std::vector<std::unique_ptr<Endpoint>> consumers;
  for (int i = 0; i < 3; ++i) {
    consumers.push_back(endpoint({"work"}));
    consumers.back()->notify("work", items);
  }
  for (auto& c : consumers) c->sync();
  for (int i = 0; i < items; ++i) producer->produce(i, "work");
  producer->sync();

  std::multiset<int> seen;
  std::size_t busy = 0;
  for (auto& c : consumers) {
    c->sync();
    const auto got = c->receive_all(no_wait);
    if (!got.empty()) ++busy;
    for (const auto& m : got) seen.insert(m.as<int>());
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(items));
  for (int i = 0; i < items; ++i) EXPECT_EQ(seen.count(i), 1u) << "item " << i;
  EXPECT_EQ(busy, consumers.size()) << "credit holders take turns";
}

TEST_F(TlspyoScenarios, OneEndpointInSeveralGroups) {
  auto sender = endpoint();
  auto member = endpoint({"a", "b"});
  sender->broadcast(std::string("to a"), "a");
  sender->broadcast(std::string("to b"), "b");
  sender->produce(std::string("work b"), "b");
  sender->sync();
  member->notify("b");
  auto got = receive(*member, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].group(), "a");
  EXPECT_EQ(got[1].group(), "b");
  EXPECT_EQ(got[2].group(), "b");
  EXPECT_EQ(got[2].kind(), Kind::produced);
}

TEST_F(TlspyoScenarios, AcceptedGroupsRejectUnknownAndFullGroups) {
  BrokerLimits limits;
  limits.accepted_groups = {GroupOptions{"only", 1, 100, Overflow::refuse}};
  start_broker(limits);
  try {
    (void)endpoint({"other"});
    FAIL() << "joining a group the broker does not accept must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unknown_group);
    EXPECT_NE(std::string(e.what()).find("other"), std::string::npos);
  }
  auto first = endpoint({"only"});
  try {
    (void)endpoint({"only"});
    FAIL() << "the group holds one member";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::group_full);
  }
  // Sending to an unknown group is refused with the object's seq.
  const auto seq = first->produce(std::string("x"), "nowhere");
  first->sync();
  const auto refusals = first->take_refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].code, ErrorCode::unknown_group);
  EXPECT_EQ(refusals[0].seq, seq);
}

TEST_F(TlspyoScenarios, GetLastDiscardsOlderItems) {
  auto sender = endpoint({"g"});
  for (int i = 0; i < 5; ++i) sender->broadcast(i, "g");
  sender->sync();
  const auto last = sender->get_last(2, no_wait);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].as<int>(), 3);
  EXPECT_EQ(last[1].as<int>(), 4);
  EXPECT_TRUE(sender->pop(1, no_wait).empty());
}

TEST_F(TlspyoScenarios, SendObjectToSeveralDestinations) {
  auto sender = endpoint();
  auto member = endpoint({"news", "work"});
  sender->send_object(std::string("both"), {{"news", -1}, {"work", 2}});
  sender->sync();
  member->notify("work", -1);
  auto got = receive(*member, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kind(), Kind::broadcast);
  EXPECT_EQ(got[1].kind(), Kind::produced);
  EXPECT_EQ(got[2].kind(), Kind::produced);
  for (const auto& m : got) EXPECT_EQ(m.as<std::string>(), "both");
  EXPECT_THROW(sender->send_object(1, {{"work", 0}}), Error);
}

struct Transition {
  std::vector<float> observation;
  float reward = 0;
  bool done = false;
  template <class Archive>
  void serialize(Archive& archive, unsigned) {
    archive & observation & reward & done;
  }
};

TEST_F(TlspyoScenarios, CustomAndRawSerializationRoundTrip) {
  auto sender = endpoint();
  auto receiver = endpoint({"g"});
  sender->produce(Transition{{1.f, 2.f, 3.f}, 0.5f, true}, "g");
  const std::string raw("\x00\x01\xffraw", 6);
  sender->produce_raw(raw, "g");
  receiver->notify("g", 2);
  auto got = receive(*receiver, 2);
  ASSERT_EQ(got.size(), 2u);
  const auto transition = got[0].as<Transition>();
  EXPECT_EQ(transition.observation, (std::vector<float>{1.f, 2.f, 3.f}));
  EXPECT_EQ(transition.reward, 0.5f);
  EXPECT_TRUE(transition.done);
  EXPECT_EQ(got[1].text(), raw);
  try {
    (void)got[1].as<Transition>();
    FAIL() << "raw bytes are not an object";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::decode_failed);
  }
  try {
    (void)got[0].as<std::string>();
    FAIL() << "a Transition is not a string";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::type_mismatch);
  }
}

TEST_F(TlspyoScenarios, StopFlushesPendingItems) {
  constexpr int items = 2000;
  {
    auto producer = endpoint();
    for (int i = 0; i < items; ++i) producer->produce(i, "work");
    producer->stop();  // returns once the broker has confirmed all of them
  }
  auto consumer = endpoint({"work"});
  consumer->notify("work", -1);
  const auto got = receive(*consumer, items);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(items));
  for (int i = 0; i < items; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)].as<int>(), i);
}

}  // namespace
}  // namespace zrelay
