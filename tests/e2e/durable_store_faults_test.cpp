// The store of durable groups against what goes wrong outside: a corrupt store and a store in
// use stop the real broker program with exit 78; a full disk (a small tmpfs of our own) refuses
// durable objects with storage_failed while other groups go on, and durable objects are taken
// again once consumers drained the store.
#include <sys/mount.h>

#include <csignal>
#include <fstream>

#include <gtest/gtest.h>
#include <zrelay/broker.hpp>
#include <zrelay/endpoint.hpp>

#include "broker/durable_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Process;
using testing::TempDir;

// The broker program on a key pair of its own and `data_dir`, durable groups `jobs*`.
std::unique_ptr<Process> durable_broker(const TempDir& dir, const fs::path& data_dir) {
  return std::make_unique<Process>(std::vector<std::string>{ZRELAY_BROKER_PATH, "--bind", "tcp://127.0.0.1:*", "--durable",
                                                            "jobs*", "--data-dir", data_dir.string()},
                                   std::vector<std::string>{"ZRELAY_STATE_DIR=" + (dir / "state").string()});
}

std::string all_output(Process& process) {
  while (process.read_line(1s)) {
  }
  return process.output();
}

TEST(DurableStoreFaults, WithoutADataDirectoryTheStoreIsInTheStateDirectory) {
  TempDir dir;
  Process broker({ZRELAY_BROKER_PATH, "--bind", "tcp://127.0.0.1:*", "--durable", "jobs*"},
                 {"ZRELAY_STATE_DIR=" + (dir / "state").string()});
  ASSERT_TRUE(broker.wait_for("listening on ", 20s).has_value()) << broker.output();
  EXPECT_TRUE(fs::exists(dir / "state" / "data" / "data.mdb"));
  broker.signal(SIGTERM);
  EXPECT_EQ(broker.wait(20s), std::optional<int>(0));
}

TEST(DurableStoreFaults, ACleanStopCommitsTheAcknowledgementsSoNothingRepeats) {
  TempDir dir;
  const Certificate key = Certificate::generate();
  BrokerOptions options;
  options.bind = "tcp://127.0.0.1:*";
  options.certificate = Certificate::generate();
  options.authorized_keys = {key};
  options.data_dir = dir / "data";
  options.limits.durable_groups = {"jobs"};
  auto broker = std::make_unique<Broker>(std::move(options));
  EndpointOptions o;
  o.broker = broker->endpoint();
  o.broker_public_key = broker->public_key();
  o.certificate = key;
  o.groups = {"jobs"};
  Endpoint endpoint(o);
  for (int i = 0; i < 3; ++i) (void)endpoint.produce_raw("x", "jobs");
  endpoint.notify("jobs", 3);
  std::size_t taken = 0;
  while (taken < 3) {
    const auto got = endpoint.pop(3 - taken, 20s);  // acknowledged as taken
    ASSERT_FALSE(got.empty());
    taken += got.size();
  }
  endpoint.sync(20s);  // the broker handled the acknowledgements; their erases wait for a commit
  endpoint.stop();
  broker.reset();  // stopped, its store closed
  broker::DurableStore store(dir / "data", 64 << 20);
  for (const auto& group : store.load().groups) EXPECT_TRUE(group.items.empty()) << "acknowledged items came back";
}

TEST(DurableStoreFaults, ACorruptStoreStopsTheBrokerWithExit78) {
  TempDir dir;
  fs::create_directories(dir / "data");
  std::ofstream(dir / "data" / "data.mdb") << std::string(64 << 10, 'G');
  auto broker = durable_broker(dir, dir / "data");
  EXPECT_EQ(broker->wait(20s), std::optional<int>(78));
  EXPECT_NE(all_output(*broker).find("cannot open the store"), std::string::npos) << broker->output();
  EXPECT_EQ(fs::file_size(dir / "data" / "data.mdb"), 64u << 10) << "the store is left as it was, not replaced";
}

TEST(DurableStoreFaults, ASecondBrokerOnTheSameDataDirectoryExitsWith78) {
  TempDir dir;
  auto first = durable_broker(dir, dir / "data");
  ASSERT_TRUE(first->wait_for("listening on ", 20s).has_value()) << first->output();
  auto second = durable_broker(dir, dir / "data");
  EXPECT_EQ(second->wait(20s), std::optional<int>(78));
  EXPECT_NE(all_output(*second).find("in use by another broker"), std::string::npos) << second->output();
}

// A tmpfs of `bytes` mounted on `dir` for the test; nothing if this process may not mount.
class SmallDisk {
 public:
  SmallDisk(const fs::path& dir, std::size_t bytes) : dir_(dir) {
    fs::create_directories(dir);
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  [[nodiscard]] bool mounted() const noexcept { return mounted_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

std::vector<Refusal> refusals_after_sync(Endpoint& endpoint) {
  endpoint.sync(20s);
  return endpoint.take_refusals();
}

TEST(DurableStoreFaults, AFullDiskRefusesDurableObjectsOthersGoOnAndSpaceComesBackWhenDrained) {
  TempDir dir;
  SmallDisk disk(dir / "disk", 8 << 20);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)";
  const Certificate key = Certificate::generate();
  BrokerOptions options;
  options.bind = "tcp://127.0.0.1:*";
  options.certificate = Certificate::generate();
  options.authorized_keys = {key};
  options.data_dir = dir / "disk" / "data";
  options.limits.durable_groups = {"jobs*"};
  Broker broker(std::move(options));
  const auto endpoint = [&](std::vector<std::string> groups) {
    EndpointOptions o;
    o.broker = broker.endpoint();
    o.broker_public_key = broker.public_key();
    o.certificate = key;
    o.groups = std::move(groups);
    return std::make_unique<Endpoint>(std::move(o));
  };
  auto producer = endpoint({});
  const std::string item(256 << 10, 'x');  // in LMDB's pages: the database file grows

  std::size_t stored = 0;
  std::vector<Refusal> refused;
  for (; refused.empty() && stored < 64; ++stored) {  // 16 MiB would not fit 8
    (void)producer->produce_raw(item, "jobs");
    refused = refusals_after_sync(*producer);
  }
  ASSERT_EQ(refused.size(), 1u) << "the disk never filled";
  EXPECT_EQ(refused[0].code, ErrorCode::storage_failed);
  --stored;  // the refused one
  EXPECT_GT(stored, 4u);
  EXPECT_EQ(broker.stats().refused_storage_failed, 1u);
  EXPECT_TRUE(broker.serving()) << "a full disk is a refusal, not a fault";

  auto consumer = endpoint({"jobs", "plain"});
  (void)producer->produce_raw("not durable", "plain");
  EXPECT_TRUE(refusals_after_sync(*producer).empty()) << "groups that are not durable go on";
  consumer->notify("plain", 1);
  ASSERT_EQ(consumer->pop(1, 20s).size(), 1u);

  consumer->notify("jobs", static_cast<int>(stored));
  std::size_t taken = 0;
  while (taken < stored) {
    const auto got = consumer->pop(stored - taken, 20s);  // pop() acknowledges
    if (got.empty()) break;
    taken += got.size();
  }
  EXPECT_EQ(taken, stored) << "every stored item is delivered";
  consumer->sync(20s);  // the acknowledgements are handled, the store drained

  // The acknowledgements' erases are committed at the broker's next tick (no reply waits for
  // them); from then on the store's free pages are room again.
  const auto until = std::chrono::steady_clock::now() + 20s;
  std::vector<Refusal> again;
  do {
    (void)producer->produce_raw(item, "jobs");
    again = refusals_after_sync(*producer);
  } while (!again.empty() && again[0].code == ErrorCode::storage_failed && std::chrono::steady_clock::now() < until);
  EXPECT_TRUE(again.empty()) << "the store's free pages are room again";
}

}  // namespace
}  // namespace zrelay
