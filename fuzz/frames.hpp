#pragma once
// The framing the protocol fuzzers use to turn one byte string into a multipart message, and
// back (for the seed corpus). Each frame is a length prefix and that many bytes:
//   prefix byte 0..254      the frame has that many bytes
//   prefix byte 255, u16 BE the frame has that many bytes (so any frame up to 64 KiB)
// A length past the end of the input takes what is left. Splitting stops after 9 frames (one
// more than the broker reads) or at the end of the input; bytes after the 9th frame are ignored.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <zmq.hpp>

namespace zrelay::fuzz {

inline constexpr std::size_t max_fuzz_frames = 9;

inline std::vector<zmq::message_t> split_frames(std::span<const std::uint8_t> in) {
  std::vector<zmq::message_t> frames;
  std::size_t at = 0;
  while (at < in.size() && frames.size() < max_fuzz_frames) {
    std::size_t length = in[at++];
    if (length == 255) {
      length = 0;
      for (int i = 0; i < 2 && at < in.size(); ++i) length = (length << 8) | in[at++];
    }
    length = std::min(length, in.size() - at);
    frames.emplace_back(in.data() + at, length);
    at += length;
  }
  return frames;
}

inline std::string join_frames(const std::vector<zmq::message_t>& frames) {
  std::string out;
  for (const zmq::message_t& frame : frames) {
    const std::size_t size = frame.size();
    if (size > 0xFFFF) throw std::length_error("a fuzz frame holds at most 65535 bytes");
    if (size < 255) {
      out += static_cast<char>(size);
    } else {
      out += static_cast<char>(255);
      out += static_cast<char>((size >> 8) & 0xFF);
      out += static_cast<char>(size & 0xFF);
    }
    out.append(static_cast<const char*>(frame.data()), size);
  }
  return out;
}

inline std::vector<std::string> contents(const std::vector<zmq::message_t>& frames) {
  std::vector<std::string> out;
  out.reserve(frames.size());
  for (const zmq::message_t& frame : frames) out.emplace_back(static_cast<const char*>(frame.data()), frame.size());
  return out;
}

}  // namespace zrelay::fuzz
