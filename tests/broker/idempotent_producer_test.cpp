// Idempotent producers: an object sent again with the same endpoint id and seq (after a lost
// session) is applied once per broker run and answered as the first time.
#include "broker/producer_table.hpp"
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

using namespace protocol;

const EndpointId producer_id{0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

class IdempotentProducer : public BrokerCoreTest {
 protected:
  // p1 and p2 are two sessions of one key (the same endpoint, reconnected).
  void SetUp() override {
    BrokerCoreTest::SetUp();
    user_id_of = [](const ClientId& client) { return client == "p1" || client == "p2" ? std::string("key-p") : "key-" + client; };
  }
  void hello_as(const ClientId& client, const EndpointId& id) {
    auto out = send(client, Hello{client, id});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<Welcome>(out[0].message));
  }
  std::vector<Deliver> take_all(const ClientId& consumer, const std::string& group) {
    std::vector<Deliver> got;
    for (auto& out : send(consumer, Ready{group, -1})) {
      if (auto* d = std::get_if<Deliver>(&out.message)) got.push_back(std::move(*d));
    }
    return got;
  }
};

TEST_F(IdempotentProducer, AProduceSentAgainByANewSessionIsQueuedOnce) {
  hello_as("p1", producer_id);
  (void)send("p1", Produce{7, "q", 2, bytes("item")});
  core->connection_closed("p1");
  hello_as("p2", producer_id);  // the same endpoint, a new session
  EXPECT_TRUE(send("p2", Produce{7, "q", 2, bytes("item")}).empty()) << "nothing to say: it was applied";
  (void)send("p2", Produce{8, "q", 1, bytes("next")});
  EXPECT_EQ(core->group("q")->stats.produced, 3u);
  hello("c");
  join("c", "q");
  const auto got = take_all("c", "q");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].object, (ObjectId{producer_id, 7, 1}));
  EXPECT_EQ(got[1].object, (ObjectId{producer_id, 7, 2}));
  EXPECT_EQ(got[2].object, (ObjectId{producer_id, 8, 1}));
}

// Some copies queued, the rest refused: the object was applied, so a resend is answered with
// the refusal it got, and no copy is queued again.
TEST_F(IdempotentProducer, AResendOfAPartlyQueuedObjectIsAnsweredWithItsRefusal) {
  make_core_with_queue(1);
  hello_as("p1", producer_id);
  const auto first = send("p1", Produce{2, "q", 3, bytes("copies")});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(std::get<ErrorReply>(first[0].message).code, ErrorCode::queue_full);
  core->connection_closed("p1");
  hello_as("p2", producer_id);
  const auto again = send("p2", Produce{2, "q", 3, bytes("copies")});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(std::get<ErrorReply>(again[0].message).code, ErrorCode::queue_full);
  EXPECT_EQ(std::get<ErrorReply>(again[0].message).seq, 2u);
  EXPECT_EQ(core->group("q")->stats.produced, 1u) << "the resend was not applied again";
  EXPECT_EQ(core->group("q")->stats.refused, 2u);
}

// Refused whole, nothing of it was applied: a resend is judged again, and fits once there is room
// (remembering the refusal would hold budget for an object the broker does not hold).
TEST_F(IdempotentProducer, AResendOfAnObjectRefusedWholeIsJudgedAgain) {
  make_core_with_queue(1);
  hello_as("p1", producer_id);
  (void)send("p1", Produce{1, "q", 1, bytes("fits")});
  const auto first = send("p1", Produce{2, "q", 1, bytes("later")});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(std::get<ErrorReply>(first[0].message).code, ErrorCode::queue_full);
  hello("c");
  join("c", "q");
  EXPECT_EQ(take_all("c", "q").size(), 1u);  // room again
  core->connection_closed("p1");
  hello_as("p2", producer_id);
  EXPECT_TRUE(send("p2", Produce{2, "q", 1, bytes("later")}).empty());
  EXPECT_EQ(core->group("q")->stats.produced, 2u);
}

// A broadcast resent after a newer one from another producer does not put the old value back.
TEST_F(IdempotentProducer, AResentBroadcastNeverReplacesANewerValue) {
  hello_as("p1", producer_id);
  hello("other");
  (void)send("p1", Broadcast{5, "w", bytes("old")});
  (void)send("other", Broadcast{1, "w", bytes("new")});
  core->connection_closed("p1");
  hello_as("p2", producer_id);
  (void)send("p2", Broadcast{5, "w", bytes("old")});
  hello("late");
  auto out = send("late", Join{"w"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(std::get<Deliver>(out[1].message).payload.to_string(), "new");
}

TEST_F(IdempotentProducer, SeqsOutOfOrderWithinTheWindowAreEachAppliedOnce) {
  hello_as("p", producer_id);
  for (std::uint64_t seq : {2, 1, 4, 3}) (void)send("p", Produce{seq, "q", 1, bytes("x")});
  for (std::uint64_t seq : {1, 2, 3, 4}) (void)send("p", Produce{seq, "q", 1, bytes("x")});
  EXPECT_EQ(core->group("q")->stats.produced, 4u);
}

// Deduplication is per key: another key claiming the same endpoint id, or a client without one
// (all zero), is never taken for a resend.
TEST_F(IdempotentProducer, OnlyTheSameKeyAndEndpointIdAreDeduplicated) {
  hello_as("p", producer_id);
  hello_as("impostor", producer_id);  // another key (user ids follow client names here)
  hello("anonymous");
  (void)send("p", Produce{1, "q", 1, bytes("x")});
  (void)send("impostor", Produce{1, "q", 1, bytes("x")});
  (void)send("anonymous", Produce{1, "q", 1, bytes("x")});
  (void)send("anonymous", Produce{1, "q", 1, bytes("x")});
  EXPECT_EQ(core->group("q")->stats.produced, 4u);
}

TEST(ProducerTable, AnUnusedProducerIsForgottenAfterTheWindowAndItsCostReleased) {
  PayloadAccount overhead;
  ProducerTable table(overhead, std::chrono::milliseconds(100));
  const ProducerTable::Key key{"k", producer_id};
  const auto t0 = ProducerTable::Clock::time_point{} + std::chrono::hours(1);
  ASSERT_TRUE(table.attach(key));
  table.applied(key, 1);
  table.refused(key, ErrorReply{ErrorCode::queue_full, 1, "q", "full"});
  EXPECT_EQ(overhead.bytes(), ProducerTable::entry_cost + ProducerTable::refusal_cost);
  table.detach(key, t0);
  table.expire(t0 + std::chrono::milliseconds(100));
  EXPECT_TRUE(table.seen(key, 1).has_value()) << "still inside the window";
  table.expire(t0 + std::chrono::milliseconds(101));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(overhead.bytes(), 0u);
}

TEST(ProducerTable, SeqsBelowTheWindowCountAsApplied) {
  PayloadAccount overhead;
  ProducerTable table(overhead, std::chrono::seconds(1));
  const ProducerTable::Key key{"k", producer_id};
  ASSERT_TRUE(table.attach(key));
  table.applied(key, 5000);
  EXPECT_FALSE(table.seen(key, 5001).has_value());
  EXPECT_FALSE(table.seen(key, 4999).has_value()) << "inside the window, not applied";
  EXPECT_TRUE(table.seen(key, 5000 - ProducerTable::window_seqs).has_value()) << "too old to tell";
}

TEST(ProducerTable, AKeyHasAtMostItsBoundOfEndpointIdsInUse) {
  PayloadAccount overhead;
  ProducerTable table(overhead, std::chrono::seconds(1));
  for (std::size_t i = 0; i < ProducerTable::max_per_key; ++i) {
    EndpointId id{};
    id[0] = static_cast<std::uint8_t>(i + 1);
    ASSERT_TRUE(table.attach({"k", id}));
  }
  EXPECT_FALSE(table.attach({"k", EndpointId{0xFF}})) << "all in use: not remembered";
  EXPECT_TRUE(table.attach({"other key", EndpointId{0xFF}}));
  table.detach({"k", EndpointId{1}}, ProducerTable::Clock::now());
  EXPECT_TRUE(table.attach({"k", EndpointId{0xFF}})) << "an unused one made room";
}

}  // namespace
}  // namespace zrelay::broker
