// BrokerCore as a state machine: the input is a schedule of messages from several clients,
// ticks and what the socket writes, refuses or loses (tests/support/broker_core_driver.hpp).
// Any crash, sanitizer report or broken invariant (budget, bounds, what is still charged at
// the end, every byte released) is a finding.
#include <cstdio>
#include <cstdlib>

#include "tests/support/broker_core_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  zrelay::testing::ByteSource in(data, size);
  zrelay::testing::BrokerCoreDriver driver;
  try {
    for (std::size_t step = 0; step < size / 4 + 1 && step < 1000; ++step) driver.step(in);
    driver.finish();
  } catch (const zrelay::testing::InvariantBroken& e) {
    std::fprintf(stderr, "invariant broken: %s\n", e.what());
    std::abort();
  }
  return 0;
}
