#pragma once
// The body of both protocol decoder fuzzers: split the input into frames, decode them, and if
// they decode, encode the message again and require the very same frames. zrelay::Error is the
// expected outcome for bad input; anything else escaping (another exception, a crash, a
// sanitizer report) or a round trip that changes a byte is a finding.
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include <zrelay/error.hpp>

#include "fuzz/frames.hpp"
#include "protocol/codec.hpp"

namespace zrelay::fuzz {

template <class Decode>
void decode_round_trip(const std::uint8_t* data, std::size_t size, Decode decode) {
  protocol::Frames frames = split_frames(std::span<const std::uint8_t>(data, size));
  const std::vector<std::string> before = contents(frames);
  try {
    auto message = decode(frames);
    protocol::Frames again = protocol::encode(std::move(message));
    if (contents(again) != before) {
      std::fprintf(stderr, "round trip changed the frames (%zu frames in, %zu out)\n", before.size(), again.size());
      std::abort();
    }
    // And what was encoded decodes again.
    (void)decode(again);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::malformed_message && e.code() != ErrorCode::bad_version) {
      std::fprintf(stderr, "decoder threw an unexpected code %d: %s\n", static_cast<int>(e.code()), e.what());
      std::abort();
    }
  }
}

}  // namespace zrelay::fuzz
