#pragma once
// What the fault tests check of a zrelay-broker process under attack: it is still up and serving,
// and its peak memory stayed within a bound.
#include <chrono>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/peer.hpp"
#include "tests/support/process.hpp"

namespace zrelay::testing {

// The broker is up and `witness` (a member of `group`) still gets an item through it.
inline void expect_broker_serves(Process& broker, Endpoint& witness, const std::string& group = "echo") {
  ASSERT_FALSE(broker.wait(std::chrono::milliseconds(0)).has_value()) << "the broker died\n" << broker.output();
  witness.notify(group);
  (void)witness.produce_raw("ping", group);
  const auto got = witness.pop(1, std::chrono::seconds(10));
  ASSERT_EQ(got.size(), 1u) << "no round trip through the broker";
  EXPECT_EQ(got[0].text(), "ping");
}

// The broker's peak resident memory (VmHWM) stayed below `baseline + bound`.
inline void expect_peak_memory_below(const Process& broker, std::uint64_t baseline, std::uint64_t bound) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // AddressSanitizer's quarantine keeps freed memory resident; ThreadSanitizer's shadow memory
  // and allocator make the broker's resident size a multiple of what it holds.
  (void)broker, (void)baseline, (void)bound;
#else
  constexpr std::uint64_t MiB = 1 << 20;
  const std::uint64_t peak = memory_bytes(broker.pid(), "VmHWM:");
  EXPECT_LT(peak, baseline + bound) << "peak " << peak / MiB << " MiB, baseline " << baseline / MiB << " MiB";
#endif
}

}  // namespace zrelay::testing
