// stop() while another thread keeps producing: stop completes with the broker's confirmation,
// and every object whose produce() returned reached the broker; later ones throw `closed`.
#include <atomic>
#include <thread>

#include "tests/support/relay_fixture.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

class StopRace : public testing::RelayFixture {};

TEST_F(StopRace, ProducingDuringStopLosesNothingAndEndsWithClosed) {
  for (int trial = 0; trial < 5; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const std::string group = "race-" + std::to_string(trial);
    auto producer = endpoint();
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<bool> closed{false};
    std::thread worker([&] {
      try {
        for (;;) {
          (void)producer->produce_raw(std::string_view("item"), group);
          ++accepted;
        }
      } catch (const Error& e) {
        closed = e.code() == ErrorCode::closed;
      }
    });
    while (accepted.load() < 100) std::this_thread::yield();
    EXPECT_NO_THROW(producer->stop()) << "the broker confirmed everything before GOODBYE";
    worker.join();
    EXPECT_TRUE(closed.load());

    auto consumer = endpoint({group});
    std::uint64_t received = 0;
    for (;;) {
      consumer->notify(group, -1);
      consumer->sync();
      const auto got = consumer->receive_all();
      if (got.empty()) break;
      received += got.size();
    }
    EXPECT_EQ(received, accepted.load()) << "every produce() that returned reached the broker";
  }
}

}  // namespace
}  // namespace zrelay
