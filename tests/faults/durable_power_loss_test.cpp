// A power-loss simulation for durable groups: while a producer streams items into the real broker
// program, the broker is frozen (SIGSTOP) at seeded moments, its data directory copied, and it is
// let go again. Each copy is the store as the files were at an instant the broker may have been
// anywhere in a commit (between writing pages and syncing, between the data's sync and the meta
// page's). Every copy must load, hold every item confirmed before the freeze, in order, and no
// item twice.
//
// What this does not model: a disk that loses or reorders writes the broker issued but had not
// synced. That needs a fault-injecting block layer (dm-flakey), and this container has no
// device-mapper; LMDB's own ordering (data pages synced before the meta page) is what covers it.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <thread>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "broker/durable_store.hpp"
#include "tests/support/durable_broker.hpp"

namespace zrelay {
namespace {

namespace fs = std::filesystem;
using testing::DurableBroker;
using testing::TempDir;

struct Snapshot {
  fs::path dir;
  std::uint64_t confirmed = 0;  // items 0 .. confirmed-1 had their PRODUCE confirmed before the freeze
};

// True once every thread of `pid` is stopped: SIGSTOP is delivered after kill() returns.
bool all_threads_stopped(pid_t pid) {
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto state = line.rfind(')');  // "tid (name) S ...": the name may hold spaces
    if (state == std::string::npos || line.size() < state + 3 || (line[state + 2] != 't' && line[state + 2] != 'T')) return false;
  }
  return true;
}

// Freezes the broker, copies its data directory to `to`, lets it go.
void copy_frozen(DurableBroker& broker, const fs::path& to) {
  broker.process().signal(SIGSTOP);
  const auto until = std::chrono::steady_clock::now() + testing::deadline;
  while (!all_threads_stopped(broker.process().pid())) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "the broker did not stop";
    std::this_thread::yield();
  }
  fs::copy(broker.data_dir(), to, fs::copy_options::recursive);
  broker.process().signal(SIGCONT);
}

// The numbers of the items `jobs` holds in the store at `dir`, in queue order.
std::vector<std::uint64_t> stored_items(const fs::path& dir) {
  broker::DurableStore store(dir, 64 << 20);
  std::vector<std::uint64_t> numbers;
  for (const broker::StoredGroup& group : store.load().groups) {
    if (group.options.name != "jobs") continue;
    for (const broker::StoredItem& item : group.items) numbers.push_back(std::stoull(item.payload.to_string()));
  }
  return numbers;
}

TEST(DurablePowerLoss, CopiesOfTheStoreTakenMidWriteHoldEveryConfirmedItemOnce) {
  std::mt19937_64 random(14);
  TempDir copies;
  DurableBroker broker;
  broker.start();
  Endpoint producer(broker.options_for({}));
  std::vector<Snapshot> snapshots;
  std::uint64_t next = 0;
  std::uint64_t confirmed = 0;
  for (int round = 0; round < 12; ++round) {
    for (auto n = random() % 40 + 1; n > 0; --n) (void)producer.produce_raw(std::to_string(next++), "jobs");
    if (random() % 2 == 0) {
      producer.sync(testing::deadline);
      confirmed = next;
    }
    for (auto n = random() % 200; n > 0; --n) (void)producer.produce_raw(std::to_string(next++), "jobs");  // in flight at the freeze
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 3000));  // a seeded moment, not a wait for a condition
    snapshots.push_back({copies / std::to_string(round), confirmed});
    copy_frozen(broker, snapshots.back().dir);
  }
  producer.sync(testing::deadline);
  producer.stop();
  broker.stop();

  for (const Snapshot& snapshot : snapshots) {
    SCOPED_TRACE("copy " + snapshot.dir.filename().string() + ", " + std::to_string(snapshot.confirmed) + " confirmed");
    std::vector<std::uint64_t> items;
    ASSERT_NO_THROW(items = stored_items(snapshot.dir)) << "a copy taken mid-write must load";
    ASSERT_GE(items.size(), snapshot.confirmed) << "every confirmed item is in the store";
    for (std::uint64_t i = 0; i < items.size(); ++i) {
      ASSERT_EQ(items[i], i) << "the queue in order, each item once, nothing missing before the last one stored";
    }
  }
}

}  // namespace
}  // namespace zrelay
