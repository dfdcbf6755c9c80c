// A producer floods the real broker program at full speed while nobody consumes and a
// subscriber is frozen: the broker's memory stays under its configured budget (read from
// /proc), and every refused item is reported to its producer.
#include <csignal>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/peer.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using testing::Process;

constexpr std::uint64_t MiB = 1 << 20;
constexpr std::uint64_t budget = 32 * MiB;
// libzmq's own buffers (receive pipes, TCP and CURVE buffers) and allocator slack on top of the budget.
constexpr std::uint64_t overhead = 64 * MiB;

TEST(MemoryBound, FloodAgainstSlowConsumersStaysUnderTheBrokersBudget) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer keeps freed memory in quarantine: the broker's RSS says nothing here";
#endif
  testing::TempDir dir;
  Process broker({ZRELAY_BROKER_PATH, "--bind", "tcp://127.0.0.1:*", "--max-payload-bytes", std::to_string(budget),
                  "--max-client-pending-bytes", std::to_string(4 * MiB)},
                 {"ZRELAY_STATE_DIR=" + (dir / "state").string()});
  const std::string key = broker.wait_for("broker public key: ", 20s).value_or("");
  const std::string address = broker.wait_for("listening on ", 20s).value_or("");
  ASSERT_FALSE(address.empty()) << broker.output();
  const std::uint64_t baseline = testing::memory_bytes(broker.pid(), "VmRSS:");

  EndpointOptions options;
  options.broker = address;
  options.broker_public_key = key;
  options.certificate_file = dir / "state" / "client";
  Endpoint producer(options);
  // The consumer that drains the ledger at the end joins now: at the end the budget is full.
  EndpointOptions consumer_options = options;
  consumer_options.groups = {"work"};
  Endpoint consumer(consumer_options);
  auto frozen = testing::start_consumer(address, key, dir / "state" / "client", "weights", 1, 0);
  ASSERT_TRUE(frozen->wait_for("ready", 20s).has_value()) << frozen->output();
  frozen->signal(SIGSTOP);

  // Refusals are read as they come, as an application would (at most 65536 wait unread).
  std::size_t refused_items = 0;
  const auto read_refusals = [&] {
    for (const Refusal& refusal : producer.take_refusals()) {
      EXPECT_EQ(refusal.code, ErrorCode::over_budget) << refusal.text;
      if (refusal.group == "work") ++refused_items;
    }
  };
  // 256 MiB of work items for a queue nobody consumes.
  const std::string item(64 * 1024, 'w');
  constexpr std::size_t items = 4000;
  for (std::size_t i = 0; i < items; ++i) {
    (void)producer.produce_raw(item, "work");
    if (i % 256 == 255) read_refusals();
  }
  // 128 MiB of broadcasts to a group whose only member does not read.
  for (std::size_t i = 0; i < 2000; ++i) {
    (void)producer.broadcast_raw(item, "weights");
    if (i % 256 == 255) read_refusals();
  }
  producer.sync(60s);
  read_refusals();
  const std::uint64_t peak = testing::memory_bytes(broker.pid(), "VmHWM:");
  EXPECT_LT(peak, baseline + budget + overhead) << "peak " << peak / MiB << " MiB, baseline " << baseline / MiB << " MiB";
  EXPECT_GT(refused_items, 0u);
  EXPECT_EQ(producer.statistics().dropped_refusals, 0u);

  // Ledger: every item is either in the queue (taken now) or was refused with an error.
  std::size_t drained = 0;
  for (;;) {
    consumer.notify("work", -1);
    consumer.sync();
    const auto got = consumer.receive_all();
    if (got.empty()) break;
    drained += got.size();
  }
  EXPECT_EQ(drained + refused_items, items);
  frozen->signal(SIGKILL);
}

}  // namespace
}  // namespace zrelay
