// stop()'s race, played deterministically: an application thread inside submit() takes its
// steps between any two of the I/O thread's questions; BYE must never be allowed while its
// object is still on its way.
#include "endpoint/drain_check.hpp"

#include <functional>
#include <vector>

#include <gtest/gtest.h>

namespace zrelay::endpoint {
namespace {

// A submit that began before stop() marked the endpoint stopping: it announces itself, puts its
// object into the pipe, then leaves. (One that begins after the mark sees it and sends nothing.)
struct Submit {
  int step = 0;  // 0: announced, 1: object in the pipe, 2: left
  [[nodiscard]] bool submitting() const { return step < 2; }
  [[nodiscard]] bool queue_empty() const { return step < 1; }  // the I/O thread does not read meanwhile
};

// Probes whose k-th question first lets the submit take advance[k] steps.
DrainProbes probes(Submit& submit, const std::vector<int>& advance, std::size_t& asked) {
  auto step_then = [&submit, &advance, &asked](std::function<bool()> answer) {
    return [&submit, &advance, &asked, answer] {
      if (asked < advance.size()) submit.step = std::min(2, submit.step + advance[asked]);
      ++asked;
      return answer();
    };
  };
  return DrainProbes{step_then([&submit] { return submit.submitting(); }),
                     step_then([&submit] { return submit.queue_empty(); }), step_then([] { return true; }),
                     step_then([] { return true; })};
}

// Every way of spreading the submit's two steps over the four questions.
std::vector<std::vector<int>> schedules() {
  std::vector<std::vector<int>> all;
  for (int a = 0; a <= 2; ++a)
    for (int b = 0; a + b <= 2; ++b)
      for (int c = 0; a + b + c <= 2; ++c)
        for (int d = 0; a + b + c + d <= 2; ++d) all.push_back({a, b, c, d});
  return all;
}

TEST(DrainCheck, NeverAllowsByeWhileASubmitUnderWayStillBringsAnObject) {
  for (const auto& advance : schedules()) {
    Submit submit;
    std::size_t asked = 0;
    EXPECT_FALSE(drained(probes(submit, advance, asked)))
        << "BYE allowed with steps " << advance[0] << advance[1] << advance[2] << advance[3];
  }
}

TEST(DrainCheck, AllowsByeOnceNothingIsOnItsWay) {
  const DrainProbes idle{[] { return false; }, [] { return true; }, [] { return true; }, [] { return true; }};
  EXPECT_TRUE(drained(idle));
}

// The schedules find the order that was used before (pipe first, then submits under way).
TEST(DrainCheck, TheSchedulesCatchTheUnsafeOrder) {
  bool caught = false;
  for (const auto& advance : schedules()) {
    Submit submit;
    std::size_t asked = 0;
    const DrainProbes p = probes(submit, advance, asked);
    const bool queue_empty = p.queue_empty();
    caught |= queue_empty && !p.submitting();
  }
  EXPECT_TRUE(caught);
}

}  // namespace
}  // namespace zrelay::endpoint
