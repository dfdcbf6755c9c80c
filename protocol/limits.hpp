#pragma once
#include <cstddef>
#include <cstdint>

namespace zrelay::protocol {

inline constexpr std::uint8_t signature_0 = 0x5A;  // 'Z'
inline constexpr std::uint8_t signature_1 = 0x52;  // 'R'
// 2: fields packed into the header frame; 3: the header frame is a batch of commands, HELLO
// carries an endpoint id, DELIVER an object id (docs/protocol.md).
inline constexpr std::uint8_t version = 3;
inline constexpr std::size_t header_size = 4;        // signature, version, flags (0)
inline constexpr std::size_t command_header_size = 5;  // u8 code, u32 length of its fields

inline constexpr std::size_t max_group_size = 255;
inline constexpr std::size_t max_text_size = 1024;
inline constexpr std::size_t max_frames = 8;  // of one message: the batch frame and up to 7 payload frames
inline constexpr std::size_t max_fields = 8;  // of one command
inline constexpr std::size_t max_batch_commands = 1024;
inline constexpr std::size_t max_batch_bytes = 256 * 1024;  // the batch frame (frame 0)
// A payload field that refers to payload frame k: this length, then the byte k.
inline constexpr std::uint32_t payload_reference = 0xFFFFFFFF;
// Payloads up to this size travel inside the header frame (one CURVE box per message); larger
// ones in a frame of their own, without a copy.
inline constexpr std::size_t max_inline_payload = 4096;
inline constexpr std::uint32_t max_copies = 65535;
inline constexpr std::int64_t max_credits = 1 << 20;
inline constexpr std::size_t max_acks = 8192;  // delivery ids in one ACK
// The most bytes a message holds besides one payload: a batch frame at its largest.
inline constexpr std::size_t max_fields_bytes = max_batch_bytes;
// Objects over this size travel as chunks of it (the last one shorter): at 10 MB/s a chunk
// crosses in 0.1 s, far within every liveness timer, while its cost (one command, one box) is
// nothing next to its bytes. No message carries more than one chunk or one payload of this size,
// so a message is never over chunk_size + max_fields_bytes (libzmq's ZMQ_MAXMSGSIZE).
inline constexpr std::size_t chunk_size = 1024 * 1024;
inline constexpr std::size_t max_wire_message = chunk_size + max_fields_bytes;

}  // namespace zrelay::protocol
