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

// `decode` gives a protocol::Batch: a batch of exactly one command is checked for the round
// trip; any other is decoded for its commands and errors only (each command encodes again).
template <class Decode>
void decode_round_trip(const std::uint8_t* data, std::size_t size, Decode decode) {
  protocol::Frames frames = split_frames(std::span<const std::uint8_t>(data, size));
  const std::vector<std::string> before = contents(frames);
  auto batch = decode(frames);
  if (batch.error && batch.error->code() != ErrorCode::malformed_message &&
      batch.error->code() != ErrorCode::bad_version) {
    std::fprintf(stderr, "decoder gave an unexpected code %d: %s\n", static_cast<int>(batch.error->code()),
                 batch.error->what());
    std::abort();
  }
  if (batch.error || batch.messages.size() != 1) {
    for (auto& message : batch.messages) (void)protocol::encode(std::move(message));
    return;
  }
  protocol::Frames again = protocol::encode(std::move(batch.messages.front()));
  const std::vector<std::string> encoded = contents(again);
  if (testing::fields(encoded) != testing::fields(before)) {
    std::fprintf(stderr, "round trip changed the fields (%zu frames in, %zu out)\n", before.size(), again.size());
    std::abort();
  }
  // And what was encoded decodes again, to the same encoding.
  auto twice = decode(again);
  if (twice.error || twice.messages.size() != 1 || contents(protocol::encode(std::move(twice.messages.front()))) != encoded) {
    std::fprintf(stderr, "the encoding is not a fixed point\n");
    std::abort();
  }
}

}  // namespace zrelay::fuzz
