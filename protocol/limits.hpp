#pragma once
#include <cstddef>
#include <cstdint>

namespace zrelay::protocol {

inline constexpr std::uint8_t signature_0 = 0x5A;  // 'Z'
inline constexpr std::uint8_t signature_1 = 0x52;  // 'R'
inline constexpr std::uint8_t version = 2;  // 2: fields packed into the header frame
inline constexpr std::size_t header_size = 4;

inline constexpr std::size_t max_group_size = 255;
inline constexpr std::size_t max_text_size = 1024;
inline constexpr std::size_t max_frames = 8;  // read of one message at most (it has 1 or 2)
inline constexpr std::size_t max_fields = 8;  // in the header frame
// Payloads up to this size travel inside the header frame (one CURVE box per message); larger
// ones in a frame of their own, without a copy.
inline constexpr std::size_t max_inline_payload = 4096;
inline constexpr std::uint32_t max_copies = 65535;
inline constexpr std::int64_t max_credits = 1 << 20;
inline constexpr std::size_t max_acks = 8192;  // delivery ids in one ACK
// The most bytes a header frame holds besides a payload: the longest command's fields at their
// largest, each with its length (an ACK of max_acks ids; a PRODUCE's fields take under 300).
inline constexpr std::size_t max_fields_bytes = header_size + 4 + 8 * max_acks;

}  // namespace zrelay::protocol
