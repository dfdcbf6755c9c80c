#include "protocol/codec.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "protocol/frame_io.hpp"
#include "protocol/handover.hpp"

namespace zrelay::protocol {
namespace {

using namespace detail;

// The commands whose last field is a payload: inside the header frame up to
// max_inline_payload bytes, else in a frame of its own (without a copy).
bool has_payload(Command command) {
  return command == Command::broadcast || command == Command::produce || command == Command::deliver ||
         command == Command::stats_reply;
}

void put_u32(std::uint8_t* out, std::size_t value) {
  for (int i = 3; i >= 0; --i, value >>= 8) out[i] = static_cast<std::uint8_t>(value & 0xFF);
}

// A header frame's bytes, and the inlined payload message they were copied from, kept alive
// with them: the broker counts a payload's bytes until libzmq releases the message holding them
// (PayloadAccount), and an inlined payload is held by its header frame.
struct PackedHeader {
  std::vector<std::uint8_t> bytes;
  zmq::message_t payload;
};

void release_packed(void* /*data*/, void* hint) {
  zrelay::detail::taken_back(hint);  // often on libzmq's I/O thread (protocol/handover.hpp)
  delete static_cast<PackedHeader*>(hint);
}

// The wire form (docs/protocol.md, "Framing"): the header and every field in one frame, each
// field as a u32 length and its bytes; a payload over max_inline_payload in a second frame
// instead, as it is. CURVE seals every frame in a box of its own: a small message costs one.
Frames pack(Frames&& fields) {
  const auto command = static_cast<Command>(static_cast<const std::uint8_t*>(fields.front().data())[3]);
  const bool payload_apart = has_payload(command) && fields.back().size() > max_inline_payload;
  const bool payload_inline = has_payload(command) && !payload_apart;
  const std::size_t packed = fields.size() - (payload_apart ? 1 : 0);
  std::size_t size = header_size;
  for (std::size_t i = 1; i < packed; ++i) size += 4 + fields[i].size();
  zmq::message_t head;
  std::unique_ptr<PackedHeader> holder;
  std::uint8_t* out = nullptr;
  if (payload_inline) {
    holder = std::make_unique<PackedHeader>(PackedHeader{std::vector<std::uint8_t>(size), {}});
    out = holder->bytes.data();
  } else {
    head.rebuild(size);
    out = static_cast<std::uint8_t*>(head.data());
  }
  std::memcpy(out, fields.front().data(), header_size);
  out += header_size;
  for (std::size_t i = 1; i < packed; ++i) {
    put_u32(out, fields[i].size());
    if (fields[i].size() != 0) std::memcpy(out + 4, fields[i].data(), fields[i].size());
    out += 4 + fields[i].size();
  }
  if (payload_inline) {
    holder->payload = std::move(fields.back());
    auto* raw = holder.release();
    head = zmq::message_t(raw->bytes.data(), size, &release_packed, raw);
    zrelay::detail::handed_over(raw);  // after the last access from this thread
  }
  Frames wire;
  wire.reserve(2);
  wire.push_back(std::move(head));
  if (payload_apart) wire.push_back(std::move(fields.back()));
  return wire;
}

// Back from the wire form to one frame per field (header first): what the decoders read.
// Checks signature and version before anything else, so an old peer gets bad_version.
Frames unpack(Frames& wire) {
  if (wire.empty()) malformed("no frames");
  if (wire.size() > 2) malformed("a message has 1 or 2 frames, got " + std::to_string(wire.size()));
  const auto* bytes = static_cast<const std::uint8_t*>(wire.front().data());
  const std::size_t size = wire.front().size();
  zmq::message_t header(bytes, std::min(size, header_size));
  const auto command = static_cast<Command>(read_header(header));
  if (wire.size() == 2 && !has_payload(command)) {
    malformed("only BROADCAST, PRODUCE, DELIVER and STATS-REPLY have a frame 1 (their payload)");
  }
  Frames fields;
  fields.push_back(std::move(header));
  for (std::size_t at = header_size; at < size;) {
    if (fields.size() > max_fields) malformed("more than " + std::to_string(max_fields) + " fields");
    if (size - at < 4) malformed("a field length is cut off");
    const std::size_t length = (std::size_t{bytes[at]} << 24) | (std::size_t{bytes[at + 1]} << 16) |
                               (std::size_t{bytes[at + 2]} << 8) | std::size_t{bytes[at + 3]};
    at += 4;
    if (length > size - at) malformed("a field is longer than its frame");
    fields.emplace_back(bytes + at, length);
    at += length;
  }
  if (wire.size() == 2) fields.push_back(std::move(wire.back()));
  return fields;
}

template <class... Parts>
Frames frames_of(Command command, Parts&&... parts) {
  Frames frames;
  frames.reserve(1 + sizeof...(parts));
  frames.push_back(header_frame(command));
  (frames.push_back(std::forward<Parts>(parts)), ...);
  return pack(std::move(frames));
}

struct ClientEncoder {
  Frames operator()(Hello&& m) { return frames_of(Command::hello, string_frame(m.name)); }
  Frames operator()(Join&& m) { return frames_of(Command::join, string_frame(m.group)); }
  Frames operator()(Leave&& m) { return frames_of(Command::leave, string_frame(m.group)); }
  Frames operator()(Broadcast&& m) {
    return frames_of(Command::broadcast, int_frame(m.seq), string_frame(m.group), std::move(m.payload));
  }
  Frames operator()(Produce&& m) {
    return frames_of(Command::produce, int_frame(m.seq), string_frame(m.group), int_frame(m.copies),
                     std::move(m.payload));
  }
  Frames operator()(Ready&& m) { return frames_of(Command::ready, string_frame(m.group), int_frame(m.credits)); }
  Frames operator()(Ping&& m) { return frames_of(Command::ping, int_frame(m.token)); }
  Frames operator()(Bye&&) { return frames_of(Command::bye); }
  Frames operator()(Ack&& m) { return frames_of(Command::ack, ids_frame(m.delivery_ids)); }
  Frames operator()(Stats&& m) { return frames_of(Command::stats, int_frame(m.seq)); }
};

struct BrokerEncoder {
  Frames operator()(Welcome&& m) {
    return frames_of(Command::welcome, int_frame(m.max_message_size), string_frame(m.broker_version),
                     int_frame(m.instance), int_frame(m.heartbeat_ms), int_frame(m.liveness_ms));
  }
  Frames operator()(Joined&& m) { return frames_of(Command::joined, string_frame(m.group)); }
  Frames operator()(Left&& m) { return frames_of(Command::left, string_frame(m.group)); }
  Frames operator()(Deliver&& m) {
    return frames_of(Command::deliver, string_frame(m.group), int_frame(static_cast<std::uint8_t>(m.kind)),
                     int_frame(m.delivery_id), int_frame(m.attempt), std::move(m.payload));
  }
  Frames operator()(ErrorReply&& m) {
    return frames_of(Command::error, int_frame(static_cast<std::uint16_t>(m.code)), int_frame(m.seq),
                     string_frame(m.group), string_frame(m.text));
  }
  Frames operator()(Pong&& m) { return frames_of(Command::pong, int_frame(m.token)); }
  Frames operator()(Goodbye&& m) {
    return frames_of(Command::goodbye, int_frame(static_cast<std::uint8_t>(m.reason)));
  }
  Frames operator()(StatsReply&& m) {
    return frames_of(Command::stats_reply, int_frame(m.seq), zmq::message_t(m.json.data(), m.json.size()));
  }
};

void expect_frames(const Frames& frames, std::size_t count, const char* command) {
  if (frames.size() != count) {
    malformed(std::string(command) + " takes " + std::to_string(count - 1) + " fields, got " +
              std::to_string(frames.size() - 1));
  }
}

ClientMessage decode_client_body(Command command, Frames& f) {
  switch (command) {
    case Command::hello:
      expect_frames(f, 2, "HELLO");
      return Hello{read_text(f[1], "name")};
    case Command::join:
      expect_frames(f, 2, "JOIN");
      return Join{read_group(f[1])};
    case Command::leave:
      expect_frames(f, 2, "LEAVE");
      return Leave{read_group(f[1])};
    case Command::broadcast:
      expect_frames(f, 4, "BROADCAST");
      return Broadcast{read_int<std::uint64_t>(f[1], "seq"), read_group(f[2]), std::move(f[3])};
    case Command::produce: {
      expect_frames(f, 5, "PRODUCE");
      Produce m{read_int<std::uint64_t>(f[1], "seq"), read_group(f[2]), read_int<std::uint32_t>(f[3], "copies"),
                std::move(f[4])};
      return m;
    }
    case Command::ready:
      expect_frames(f, 3, "READY");
      return Ready{read_group(f[1]), read_int<std::int32_t>(f[2], "credits")};
    case Command::ping:
      expect_frames(f, 2, "PING");
      return Ping{read_int<std::uint64_t>(f[1], "token")};
    case Command::bye:
      expect_frames(f, 1, "BYE");
      return Bye{};
    case Command::ack:
      expect_frames(f, 2, "ACK");
      return Ack{read_ids(f[1])};
    case Command::stats:
      expect_frames(f, 2, "STATS");
      return Stats{read_int<std::uint64_t>(f[1], "seq")};
    default:
      malformed("unknown client command " + std::to_string(static_cast<int>(command)));
  }
}

Kind read_kind(const zmq::message_t& frame) {
  const auto kind = read_int<std::uint8_t>(frame, "kind");
  if (kind != static_cast<std::uint8_t>(Kind::broadcast) && kind != static_cast<std::uint8_t>(Kind::produced)) {
    malformed("unknown delivery kind " + std::to_string(kind));
  }
  return static_cast<Kind>(kind);
}

GoodbyeReason read_goodbye_reason(const zmq::message_t& frame) {
  const auto reason = read_int<std::uint8_t>(frame, "reason");
  if (reason > static_cast<std::uint8_t>(GoodbyeReason::revoked)) {
    malformed("unknown GOODBYE reason " + std::to_string(reason));
  }
  return static_cast<GoodbyeReason>(reason);
}

BrokerMessage decode_broker_body(Command command, Frames& f) {
  switch (command) {
    case Command::welcome:
      expect_frames(f, 6, "WELCOME");
      return Welcome{read_int<std::uint64_t>(f[1], "max_message_size"), read_text(f[2], "version"),
                     read_int<std::uint64_t>(f[3], "instance"), read_int<std::uint32_t>(f[4], "heartbeat"),
                     read_int<std::uint32_t>(f[5], "liveness")};
    case Command::joined:
      expect_frames(f, 2, "JOINED");
      return Joined{read_group(f[1])};
    case Command::left:
      expect_frames(f, 2, "LEFT");
      return Left{read_group(f[1])};
    case Command::deliver:
      expect_frames(f, 6, "DELIVER");
      return Deliver{read_group(f[1]), read_kind(f[2]), read_int<std::uint64_t>(f[3], "delivery id"),
                     read_int<std::uint32_t>(f[4], "attempt"), std::move(f[5])};
    case Command::error:
      expect_frames(f, 5, "ERROR");
      return ErrorReply{static_cast<ErrorCode>(read_int<std::uint16_t>(f[1], "code")),
                        read_int<std::uint64_t>(f[2], "seq"), read_optional_group(f[3]), read_text(f[4], "reason")};
    case Command::pong:
      expect_frames(f, 2, "PONG");
      return Pong{read_int<std::uint64_t>(f[1], "token")};
    case Command::goodbye:
      expect_frames(f, 2, "GOODBYE");
      return Goodbye{read_goodbye_reason(f[1])};
    case Command::stats_reply:
      expect_frames(f, 3, "STATS-REPLY");
      return StatsReply{read_int<std::uint64_t>(f[1], "seq"), f[2].to_string()};
    default:
      malformed("unknown broker command " + std::to_string(static_cast<int>(command)));
  }
}

Command read_command(const Frames& fields) { return static_cast<Command>(read_header(fields.front())); }

}  // namespace

Frames encode(ClientMessage&& message) { return std::visit(ClientEncoder{}, std::move(message)); }
Frames encode(BrokerMessage&& message) { return std::visit(BrokerEncoder{}, std::move(message)); }

ClientMessage decode_client(Frames& frames) {
  Frames fields = unpack(frames);
  return decode_client_body(read_command(fields), fields);
}

BrokerMessage decode_broker(Frames& frames) {
  Frames fields = unpack(frames);
  return decode_broker_body(read_command(fields), fields);
}

bool valid_group(std::string_view group) noexcept {
  if (group.empty() || group.size() > max_group_size) return false;
  for (const char c : group) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return false;
  }
  return true;
}

}  // namespace zrelay::protocol
