#pragma once
// The body of both protocol decoder fuzzers: split the input into frames, decode them, and if
// they decode, encode the message again and require the very same fields (a payload may move
// between frame 0 and frame 1: both are valid, the encoder picks by size), and that the
// encoding is a fixed point. zrelay::Error is the
// expected outcome for bad input; anything else escaping (another exception, a crash, a
// sanitizer report) or a round trip that changes a byte is a finding.
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include <zrelay/error.hpp>

#include "fuzz/frames.hpp"
#include "tests/support/wire_form.hpp"
#include "protocol/codec.hpp"

namespace zrelay::fuzz {

template <class Decode>
void decode_round_trip(const std::uint8_t* data, std::size_t size, Decode decode) {
  protocol::Frames frames = split_frames(std::span<const std::uint8_t>(data, size));
  const std::vector<std::string> before = contents(frames);
  try {
    auto message = decode(frames);
    protocol::Frames again = protocol::encode(std::move(message));
    const std::vector<std::string> encoded = contents(again);
    if (testing::fields(encoded) != testing::fields(before)) {
      std::fprintf(stderr, "round trip changed the fields (%zu frames in, %zu out)\n", before.size(), again.size());
      std::abort();
    }
    // And what was encoded decodes again, to the same encoding.
    if (contents(protocol::encode(decode(again))) != encoded) {
      std::fprintf(stderr, "the encoding is not a fixed point\n");
      std::abort();
    }
  } catch (const Error& e) {
    if (e.code() != ErrorCode::malformed_message && e.code() != ErrorCode::bad_version) {
      std::fprintf(stderr, "decoder threw an unexpected code %d: %s\n", static_cast<int>(e.code()), e.what());
      std::abort();
    }
  }
}

}  // namespace zrelay::fuzz
