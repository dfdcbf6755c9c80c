// A corrupt length inside an archive is refused before anything that large is allocated
// (docs/security.md, "Findings"; found by fuzz/fuzz_payload.cpp).
#include <zrelay/serialization.hpp>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

namespace zrelay {
namespace {

// Peak resident memory of this process, from /proc.
std::uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// `payload` with its first archive field (a string's or a collection's length) set to `length`.
std::vector<char> with_length(std::vector<char> payload, std::uint64_t length) {
  std::memcpy(payload.data() + detail::envelope_size, &length, sizeof length);
  return payload;
}

template <class T>
ErrorCode decode_error(const std::vector<char>& payload) {
  try {
    (void)deserialize<T>({reinterpret_cast<const std::byte*>(payload.data()), payload.size()});
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

TEST(SerializationBound, LengthsLargerThanThePayloadAreRefusedBeforeAllocation) {
  const std::uint64_t before = peak_rss_bytes();
  constexpr std::uint64_t four_gb = 4'000'000'000ull;
  EXPECT_EQ(decode_error<std::string>(with_length(serialize(std::string("hello")), four_gb)), ErrorCode::decode_failed);
  EXPECT_EQ(decode_error<std::vector<float>>(with_length(serialize(std::vector<float>{1.0f, 2.0f}), four_gb)),
            ErrorCode::decode_failed);
  // Without the bound, Boost zero-fills the declared size first: gigabytes of resident memory.
  EXPECT_LT(peak_rss_bytes() - before, 256u << 20);
}

TEST(SerializationBound, ExactLengthsStillDecode) {
  const std::string text(1000, 'x');
  const std::vector<char> payload = serialize(text);
  EXPECT_EQ(deserialize<std::string>({reinterpret_cast<const std::byte*>(payload.data()), payload.size()}), text);
}

}  // namespace
}  // namespace zrelay
