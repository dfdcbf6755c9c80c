// DurableStore on a real disk: what a batch writes is what a new store on the same directory
// loads; large payloads live in files of their own; a corrupt or foreign store is an error.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <zrelay/error.hpp>

#include "broker/durable_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay::broker {
namespace {

namespace fs = std::filesystem;

zmq::message_t bytes(const std::string& text) { return zmq::message_t(text.data(), text.size()); }

ObjectId object(std::uint64_t seq, std::uint32_t copy = 1) {
  ObjectId id;
  id.producer[0] = 0xAB;
  id.seq = seq;
  id.copy = copy;
  return id;
}

GroupOptions durable_group(const std::string& name) {
  GroupOptions options;
  options.name = name;
  options.max_consumables = 7;
  options.overflow = Overflow::drop_oldest;
  options.durable = true;
  return options;
}

store_op::PutItem item(const std::string& group, std::uint64_t id, const std::string& payload) {
  return {group, id, object(id), 0, bytes(payload)};
}

std::size_t files_in(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

class DurableStoreTest : public ::testing::Test {
 protected:
  [[nodiscard]] DurableStore open() const { return DurableStore(dir.path() / "data", 64 << 20); }

  static void commit(DurableStore& store, std::vector<StoreOp> ops) {
    StoreBatch batch;
    batch.ops = std::move(ops);
    store.commit(std::move(batch));
  }
  template <class... Ops>
  static void commit_ops(DurableStore& store, Ops&&... ops) {
    std::vector<StoreOp> batch;
    (batch.emplace_back(std::forward<Ops>(ops)), ...);
    commit(store, std::move(batch));
  }

  [[nodiscard]] StoredState reopened() const {
    DurableStore store = open();
    return store.load();
  }

  testing::TempDir dir;
};

TEST_F(DurableStoreTest, ANewStoreIsEmpty) {
  const StoredState state = reopened();
  EXPECT_TRUE(state.groups.empty());
  EXPECT_TRUE(state.producers.empty());
  EXPECT_EQ(state.bytes, 0u);
}

TEST_F(DurableStoreTest, QueueLastValueAndProducersComeBackAsCommitted) {
  {
    DurableStore store = open();
    SeqWindow seqs;
    seqs.mark(5);
    seqs.mark(3);
    std::vector<StoreOp> ops;
    ops.emplace_back(store_op::PutGroup{durable_group("jobs")});
    ops.emplace_back(item("jobs", 12, "b"));
    ops.emplace_back(item("jobs", 10, "a"));
    ops.emplace_back(item("jobs", 14, "c"));
    ops.emplace_back(store_op::PutAttempts{"jobs", 10, 2});
    ops.emplace_back(store_op::EraseItem{"jobs", 12});
    ops.emplace_back(store_op::PutLastValue{"jobs", object(9, 0), bytes("old")});
    ops.emplace_back(store_op::PutLastValue{"jobs", object(11, 0), bytes("newest")});
    ops.emplace_back(store_op::PutProducer{{"key-a", object(0).producer}, seqs, {7}});
    commit(store, std::move(ops));
  }
  const StoredState state = reopened();
  ASSERT_EQ(state.groups.size(), 1u);
  const StoredGroup& jobs = state.groups[0];
  EXPECT_EQ(jobs.options.name, "jobs");
  EXPECT_EQ(jobs.options.max_consumables, 7u);
  EXPECT_EQ(jobs.options.overflow, Overflow::drop_oldest);
  ASSERT_EQ(jobs.items.size(), 2u) << "item 12 was erased";
  EXPECT_EQ(jobs.items[0].id, 10u) << "in id order: queue order";
  EXPECT_EQ(jobs.items[0].payload.to_string(), "a");
  EXPECT_EQ(jobs.items[0].attempts, 2u);
  EXPECT_EQ(jobs.items[0].object, object(10));
  EXPECT_EQ(jobs.items[1].id, 14u);
  EXPECT_EQ(jobs.items[1].attempts, 0u);
  ASSERT_TRUE(jobs.last_value.has_value());
  EXPECT_EQ(jobs.last_value->first, object(11, 0));
  EXPECT_EQ(jobs.last_value->second.to_string(), "newest");
  ASSERT_EQ(state.producers.size(), 1u);
  EXPECT_EQ(state.producers[0].key.user_id, "key-a");
  EXPECT_TRUE(state.producers[0].seqs.covers(5));
  EXPECT_TRUE(state.producers[0].seqs.covers(3));
  EXPECT_FALSE(state.producers[0].seqs.covers(4));
  EXPECT_EQ(state.producers[0].uploading, std::vector<std::uint64_t>{7});
  EXPECT_EQ(state.bytes, 7 * store_record_cost + 1 + 1 + 6) << "group, two items (each with its attempts record), last value, producer";
}

TEST_F(DurableStoreTest, APayloadOverTheInlineLimitIsAFileUntilItsRecordGoes) {
  const std::string large(DurableStore::inline_limit + 10, 'x');
  const fs::path objects = dir.path() / "data" / "objects";
  {
    DurableStore store = open();
    commit_ops(store, store_op::PutGroup{durable_group("jobs")}, item("jobs", 1, large),
               store_op::PutLastValue{"jobs", object(2, 0), bytes(large)});
    EXPECT_EQ(files_in(objects), 2u);
  }
  StoredState state = reopened();
  ASSERT_EQ(state.groups.size(), 1u);
  ASSERT_EQ(state.groups[0].items.size(), 1u);
  EXPECT_EQ(state.groups[0].items[0].payload.size(), large.size());
  EXPECT_EQ(state.groups[0].items[0].payload.to_string(), large);
  EXPECT_EQ(state.groups[0].last_value->second.size(), large.size());
  {
    DurableStore store = open();
    commit_ops(store, store_op::EraseItem{"jobs", 1, large.size()}, store_op::PutLastValue{"jobs", object(3, 0), bytes("small")});
  }
  EXPECT_EQ(files_in(objects), 0u) << "the erased item's file and the replaced value's are gone";
  EXPECT_EQ(reopened().groups[0].last_value->second.to_string(), "small");
}

TEST_F(DurableStoreTest, AGroupNameOfTheLongestKindStoresALargePayload) {
  const std::string group(255, 'g');  // a payload file named after its key would be too long a name
  {
    DurableStore store = open();
    commit_ops(store, item(group, 1, std::string(DurableStore::inline_limit + 1, 'x')));
  }
  EXPECT_EQ(reopened().groups.at(0).items.at(0).payload.size(), DurableStore::inline_limit + 1);
}

TEST_F(DurableStoreTest, AFailedOpenLeavesTheDirectoryFree) {
  fs::create_directories(dir.path() / "data");
  std::ofstream(dir.path() / "data" / "data.mdb") << std::string(64 << 10, 'G');
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      (void)open();
      FAIL() << "opened garbage";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cannot open the store"), std::string::npos) << "not 'in use': " << e.what();
    }
  }
}

TEST_F(DurableStoreTest, AFileNoRecordNamesIsRemovedAtLoad) {
  { (void)open(); }
  const fs::path orphan = dir.path() / "data" / "objects" / "7";
  std::ofstream(orphan) << "written by a transaction that never committed";
  (void)reopened();
  EXPECT_FALSE(fs::exists(orphan));
}

TEST_F(DurableStoreTest, AMissingPayloadFileIsACorruptStore) {
  {
    DurableStore store = open();
    commit_ops(store, store_op::PutGroup{durable_group("jobs")}, item("jobs", 1, std::string(DurableStore::inline_limit + 1, 'x')));
  }
  for (const auto& entry : fs::directory_iterator(dir.path() / "data" / "objects")) fs::resize_file(entry.path(), 5);
  DurableStore store = open();
  try {
    (void)store.load();
    FAIL() << "loaded a store whose payload file was cut short";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
}

TEST_F(DurableStoreTest, GarbageInsteadOfAStoreIsAnErrorNotAnEmptyStart) {
  fs::create_directories(dir.path() / "data");
  std::ofstream(dir.path() / "data" / "data.mdb") << std::string(64 << 10, 'G');
  try {
    (void)open();
    FAIL() << "opened garbage as a store";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("cannot open the store"), std::string::npos) << e.what();
  }
}

TEST_F(DurableStoreTest, ASecondBrokerOnTheSameDirectoryIsRefused) {
  DurableStore first = open();
  try {
    (void)open();
    FAIL() << "two stores on one directory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another broker"), std::string::npos) << e.what();
  }
}

TEST_F(DurableStoreTest, TheStoreGrowsPastItsFirstMapSize) {
  DurableStore store(dir.path() / "data", 1);  // the smallest first map: 64 MiB
  const std::string payload(512 << 10, 'p');    // inline: in LMDB's pages
  for (std::uint64_t id = 1; id <= 160; ++id) commit_ops(store, item("jobs", id, payload));  // 80 MiB
  EXPECT_EQ(store.load().groups.at(0).items.size(), 160u);
}

TEST(SeqWindow, MarksCoversAndMovesLikeTheDedupeWindow) {
  SeqWindow w;
  EXPECT_FALSE(w.covers(1));
  EXPECT_TRUE(w.mark(1));
  EXPECT_FALSE(w.mark(1));
  EXPECT_TRUE(w.mark(3));
  EXPECT_TRUE(w.covers(1));
  EXPECT_FALSE(w.covers(2));
  EXPECT_TRUE(w.covers(3));
  w.unmark(3);
  EXPECT_FALSE(w.covers(3));
  w.mark(2000);
  EXPECT_TRUE(w.covers(2)) << "below the window counts as applied";
  EXPECT_FALSE(w.covers(1999));
  EXPECT_EQ(w.oldest(), 2000 - SeqWindow::size + 1);
}

}  // namespace
}  // namespace zrelay::broker
