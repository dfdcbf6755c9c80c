// Durable groups in BrokerCore: what a turn changes in them becomes a StoreBatch; a core restored
// from a real store (DurableStore on disk) has the queue, attempts, last value and dedupe table
// of the one before; a full store refuses durable objects with storage_failed and nothing else.
#include <gtest/gtest.h>

#include "broker/durable_store.hpp"
#include "tests/broker/core_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay::broker {
namespace {

EndpointId endpoint_id(std::uint8_t n) {
  EndpointId id{};
  id[0] = n;
  return id;
}

template <class Op>
std::size_t count_of(const StoreBatch& batch) {
  return static_cast<std::size_t>(
      std::count_if(batch.ops.begin(), batch.ops.end(), [](const StoreOp& op) { return std::holds_alternative<Op>(op); }));
}

class DurableGroups : public BrokerCoreTest {
 protected:
  void SetUp() override { restart(); }

  [[nodiscard]] BrokerLimits durable_limits() const {
    BrokerLimits limits = base;
    limits.durable_groups = {"jobs*"};
    return limits;
  }

  // A new core on the store, as a broker restarted on its data directory; the old store closes first.
  void restart() {
    store.reset();
    store = std::make_unique<DurableStore>(dir.path() / "data", 64 << 20);
    make_core(durable_limits());
    core->restore(store->load());
    core->set_store_room(store->room());
  }

  // The turn ends: its store writes are committed, then its replies may go (the broker loop
  // commits writes no reply waits for later; here every turn commits them).
  std::vector<Outgoing> commit(std::vector<Outgoing> out) {
    if (core->store_dirty()) store->commit(core->take_store_batch());
    return out;
  }
  std::vector<Outgoing> turn(const ClientId& client, ClientMessage&& message) { return commit(send(client, std::move(message))); }

  void producer_hello(const ClientId& client, std::uint8_t endpoint) {
    auto out = turn(client, Hello{client, endpoint_id(endpoint)});
    ASSERT_EQ(out.size(), 1u);
  }
  std::vector<Outgoing> produce(const ClientId& client, std::uint64_t seq, const std::string& group, const std::string& text) {
    return turn(client, Produce{seq, group, 1, bytes(text)});
  }

  BrokerLimits base;
  testing::TempDir dir;
  std::unique_ptr<DurableStore> store;
};

TEST_F(DurableGroups, GroupsThatDoNotMatchWriteNothing) {
  producer_hello("p", 1);
  (void)send("p", Produce{1, "plain", 1, bytes("x")});
  (void)send("p", Broadcast{2, "plain", bytes("y")});
  EXPECT_FALSE(core->store_pending());
}

TEST_F(DurableGroups, AProducedItemIsStoredDeliveredAndErasedWhenAcknowledged) {
  producer_hello("p", 1);
  (void)send("p", Produce{1, "jobs", 1, bytes("x")});
  StoreBatch batch = core->take_store_batch();
  EXPECT_EQ(count_of<store_op::PutGroup>(batch), 1u);
  EXPECT_EQ(count_of<store_op::PutItem>(batch), 1u);
  EXPECT_EQ(count_of<store_op::PutProducer>(batch), 1u);
  hello("c");
  join("c", "jobs");
  auto out = send("c", Ready{"jobs", 1});
  const auto delivered = produced_to(out, "c");
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_TRUE(core->store_pending()) << "the delivery waits for its attempt count to be synced";
  batch = core->take_store_batch();
  ASSERT_EQ(count_of<store_op::PutAttempts>(batch), 1u);
  EXPECT_EQ(std::get<store_op::PutAttempts>(batch.ops[0]).attempts, 1u);
  (void)send("c", Ack{{delivered[0]->delivery_id}});
  EXPECT_FALSE(core->store_pending()) << "no reply waits for an acknowledgement's write";
  EXPECT_TRUE(core->store_dirty());
  batch = core->take_store_batch();
  EXPECT_EQ(count_of<store_op::EraseItem>(batch), 1u);
  EXPECT_EQ(core->durable().bytes(), store_record_cost * 2) << "the group and the producer are left";
}

TEST_F(DurableGroups, ARestartedCoreHasTheQueueInOrderTheUnacknowledgedFirstWithOneMoreAttempt) {
  producer_hello("p", 1);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) (void)produce("p", seq, "jobs", "item " + std::to_string(seq));
  hello("c");
  join("c", "jobs");
  const auto first = commit(send("c", Ready{"jobs", 1}));
  ASSERT_EQ(produced_to(first, "c").size(), 1u);
  const ObjectId held = produced_to(first, "c")[0]->object;

  restart();
  hello("c");
  join("c", "jobs");
  const auto out = turn("c", Ready{"jobs", 3});
  const auto delivered = produced_to(out, "c");
  ASSERT_EQ(delivered.size(), 3u);
  EXPECT_EQ(delivered[0]->payload.to_string(), "item 1");
  EXPECT_EQ(delivered[0]->object, held) << "the same stable id";
  EXPECT_EQ(delivered[0]->attempt, 2u);
  EXPECT_EQ(delivered[1]->payload.to_string(), "item 2");
  EXPECT_EQ(delivered[1]->attempt, 1u);
  EXPECT_EQ(delivered[2]->payload.to_string(), "item 3");
  EXPECT_EQ(stats_of("jobs").unacked, 3u);
}

TEST_F(DurableGroups, AProducerThatResendsAfterARestartIsNotAppliedTwice) {
  producer_hello("p", 1);
  (void)produce("p", 1, "jobs", "once");
  restart();
  producer_hello("p", 1);  // the same endpoint reconnects and sends what was not confirmed again
  const auto out = produce("p", 1, "jobs", "once");
  EXPECT_EQ(error_in(out), nullptr);
  EXPECT_EQ(core->group("jobs")->queue_size(), 1u);
  (void)produce("p", 2, "jobs", "new");
  EXPECT_EQ(core->group("jobs")->queue_size(), 2u) << "a new seq is applied";
  producer_hello("q", 2);  // another endpoint's seq 1 is its own
  (void)produce("q", 1, "jobs", "other");
  EXPECT_EQ(core->group("jobs")->queue_size(), 3u);
}

TEST_F(DurableGroups, AnUploadOvertakenByMoreThanTheDedupeWindowIsStillAppliedAfterARestart) {
  producer_hello("p", 1);
  const std::string object(chunk_size + 10, 'u');
  (void)turn("p", Begin{1, "jobs", Kind::produced, 1, object.size()});
  (void)turn("p", Chunk{1, 0, zmq::message_t(object.data(), chunk_size)});
  for (std::uint64_t seq = 2; seq <= SeqWindow::size + 10; ++seq) (void)produce("p", seq, "jobs", "small");
  restart();  // the upload is lost with the process; its endpoint sends it again, whole
  producer_hello("p", 1);
  auto out = turn("p", Begin{1, "jobs", Kind::produced, 1, object.size()});
  EXPECT_EQ(error_in(out), nullptr);
  (void)turn("p", Chunk{1, 0, zmq::message_t(object.data(), chunk_size)});
  (void)turn("p", Chunk{1, chunk_size, zmq::message_t(object.data() + chunk_size, 10)});
  EXPECT_EQ(core->group("jobs")->queue_size(), SeqWindow::size + 10) << "the large item is queued, not swallowed as seen";
}

TEST_F(DurableGroups, CopiesAreStoredEachSoTheirBytesAreBoundedByTheLargestObject) {
  base.max_message_size = 1000;
  restart();
  producer_hello("p", 1);
  const auto out = turn("p", Produce{1, "jobs", 11, bytes(std::string(100, 'c'))});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::too_large);
  EXPECT_EQ(error_in(turn("p", Produce{2, "plain", 11, bytes(std::string(100, 'c'))})), nullptr) << "in memory copies share";
  EXPECT_EQ(error_in(turn("p", Produce{3, "jobs", 10, bytes(std::string(100, 'c'))})), nullptr);
  restart();
  EXPECT_EQ(core->group("jobs")->queue_size(), 10u);
  EXPECT_EQ(core->account().bytes(), 100u) << "the copies loaded share one buffer again";
}

TEST_F(DurableGroups, AStoredGroupTheConfigurationNoLongerAcceptsStopsTheStart) {
  producer_hello("p", 1);
  (void)produce("p", 1, "jobs", "x");
  base.accepted_groups = {GroupOptions{"other"}};
  try {
    restart();
    FAIL() << "started without a group its store holds";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::configuration);
    EXPECT_NE(std::string(e.what()).find("'jobs'"), std::string::npos) << e.what();
  }
}

TEST_F(DurableGroups, TheLastValueSurvivesARestart) {
  producer_hello("p", 1);
  (void)turn("p", Broadcast{1, "jobs-state", bytes("v1")});
  (void)turn("p", Broadcast{2, "jobs-state", bytes("v2")});
  restart();
  hello("c");
  const auto out = turn("c", Join{"jobs-state"});
  EXPECT_EQ(payloads_to(out, "c", Kind::broadcast), std::vector<std::string>{"v2"});
}

TEST_F(DurableGroups, AFullStoreRefusesDurableObjectsWithStorageFailedAndRecoversWhenDrained) {
  base.max_store_bytes = 4 * store_record_cost + 3 * 100;  // group, producer, room for about one item of 100 B
  restart();
  producer_hello("p", 1);
  EXPECT_EQ(error_in(produce("p", 1, "jobs", std::string(100, 'a'))), nullptr);
  const ErrorReply* refused = nullptr;
  auto out = produce("p", 2, "jobs", std::string(100, 'b'));
  refused = error_in(out);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->code, ErrorCode::storage_failed);
  EXPECT_EQ(refused->seq, 2u);
  EXPECT_EQ(error_in(produce("p", 3, "plain", std::string(100, 'c'))), nullptr) << "groups that are not durable go on";
  EXPECT_EQ(core->statistics().refused_storage_failed, 1u);

  hello("c");
  join("c", "jobs");
  const auto ready = turn("c", Ready{"jobs", 1});
  const auto delivered = produced_to(ready, "c");  // points into `ready`
  ASSERT_EQ(delivered.size(), 1u);
  (void)turn("c", Ack{{delivered[0]->delivery_id}});
  EXPECT_EQ(error_in(produce("p", 2, "jobs", std::string(100, 'b'))), nullptr) << "the refused seq is judged again and fits";
}

TEST_F(DurableGroups, NoRoomOnTheDiskRefusesDurableObjects) {
  core->set_store_room(1000);
  producer_hello("p", 1);
  const auto out = produce("p", 1, "jobs", "x");
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::storage_failed);
  core->set_store_room(64 << 20);
  EXPECT_EQ(error_in(produce("p", 1, "jobs", "x")), nullptr);
}

TEST_F(DurableGroups, AProducerTheDedupeTableForgetsLeavesTheStoreToo) {
  producer_hello("p", 1);
  (void)produce("p", 1, "jobs", "x");
  (void)turn("p", Bye{});
  (void)tick_at(base.liveness * 10 + std::chrono::seconds(1));
  EXPECT_FALSE(core->producers().remembers({"key-p", endpoint_id(1)}));
  StoreBatch batch = core->take_store_batch();
  EXPECT_EQ(count_of<store_op::EraseProducer>(batch), 1u);
  store->commit(std::move(batch));
  restart();
  EXPECT_EQ(core->producers().size(), 0u);
}

}  // namespace
}  // namespace zrelay::broker
