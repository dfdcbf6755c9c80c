// Payload decoding in the receiving endpoint: Message::as<T>() (zrelay::deserialize, i.e. the
// envelope checks then a Boost binary archive) for a few typical types. Corrupt bytes must end
// in zrelay::Error (decode_failed or type_mismatch): not a crash, not a huge allocation (run
// with -rss_limit_mb / -malloc_limit_mb). A payload that decodes must serialize to bytes that
// decode to the same value again.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include <zrelay/error.hpp>
#include <zrelay/message.hpp>
#include <zrelay/serialization.hpp>

#include "fuzz/payload_types.hpp"

namespace {

using namespace zrelay::fuzz;

std::span<const std::byte> bytes_of(const std::vector<char>& payload) {
  return {reinterpret_cast<const std::byte*>(payload.data()), payload.size()};
}

template <class T>
void decode(const std::uint8_t* data, std::size_t size, bool wrap) {
  zmq::message_t payload;
  if (wrap) {
    // A valid envelope for T around the fuzzer's archive bytes, so that mutations go to Boost.
    payload.rebuild(zrelay::detail::envelope_size + size);
    zrelay::detail::write_envelope(static_cast<char*>(payload.data()),
                                   zrelay::detail::fnv1a(zrelay::type_tag<T>::name()), size);
    if (size != 0) std::memcpy(static_cast<char*>(payload.data()) + zrelay::detail::envelope_size, data, size);
  } else {
    payload.rebuild(data, size);
  }
  const zrelay::Message message("fuzz", zrelay::Kind::produced, 1, std::move(payload));
  T value{};
  try {
    value = message.as<T>();
  } catch (const zrelay::Error& e) {
    if (e.code() == zrelay::ErrorCode::decode_failed || e.code() == zrelay::ErrorCode::type_mismatch) return;
    std::fprintf(stderr, "fuzz_payload: unexpected error code %d: %s\n", static_cast<int>(e.code()), e.what());
    std::abort();
  }
  // Outside the try: a decoded value that does not serialize and decode again is a finding.
  const std::vector<char> once = zrelay::serialize(value);
  const std::vector<char> twice = zrelay::serialize(zrelay::deserialize<T>(bytes_of(once)));
  if (once != twice) {
    std::fprintf(stderr, "fuzz_payload: a decoded value does not serialize the same way twice\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const bool wrap = (selector & wrap_flag) != 0;
  switch (static_cast<PayloadType>(selector & 0x03)) {
    case PayloadType::text: decode<Text>(data + 1, size - 1, wrap); break;
    case PayloadType::floats: decode<Floats>(data + 1, size - 1, wrap); break;
    case PayloadType::counts: decode<Counts>(data + 1, size - 1, wrap); break;
    case PayloadType::sample: decode<Sample>(data + 1, size - 1, wrap); break;
  }
  return 0;
}
