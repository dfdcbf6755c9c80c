// 200 endpoints connect to one broker at the same moment; each gets its share of the work.
#include <atomic>
#include <thread>

#include "tests/support/relay_fixture.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

class ManyEndpoints : public testing::RelayFixture {};

TEST_F(ManyEndpoints, TwoHundredConnectAtOnceAndEachGetsOneItem) {
  constexpr int count = 200;
  std::vector<std::unique_ptr<Endpoint>> endpoints(count);
  std::atomic<int> failures{0};
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
      threads.emplace_back([&, i] {
        try {
          auto options = options_for({"work"}, client_key);
          options.connect_timeout = 60s;
          endpoints[static_cast<std::size_t>(i)] = std::make_unique<Endpoint>(options);
          endpoints[static_cast<std::size_t>(i)]->notify("work", 1);
          endpoints[static_cast<std::size_t>(i)]->sync(60s);
        } catch (const Error&) {
          ++failures;
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  ASSERT_EQ(failures.load(), 0);

  auto producer = endpoint();
  for (int i = 0; i < count; ++i) (void)producer->produce_raw(std::to_string(i), "work");
  std::set<std::string> seen;
  for (auto& e : endpoints) {
    auto got = receive(*e, 1, 30s);
    ASSERT_EQ(got.size(), 1u);
    seen.emplace(got[0].text());
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(count)) << "each item went to exactly one endpoint";
  for (auto& e : endpoints) e->stop();
}

}  // namespace
}  // namespace zrelay
