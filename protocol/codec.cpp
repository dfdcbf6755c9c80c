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
         command == Command::stats_reply || command == Command::chunk || command == Command::deliver_chunk;
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

void release_packed(void* data, void* hint) {
  zrelay::detail::taken_back(hint);  // often on libzmq's I/O thread (protocol/handover.hpp)
  zrelay::detail::taken_back(data);  // read again by a BatchBuilder after the encoder handed it over
  delete static_cast<PackedHeader*>(hint);
}

// The wire form (docs/protocol.md, "Framing"): a batch frame, here of one command: the batch
// header, the command's code and the length of its fields, then every field as a u32 length
// and its bytes; a payload over max_inline_payload goes in a frame of its own instead, as it is,
// and its field refers to it. CURVE seals every frame in a box of its own: a small message
// costs one.
Frames pack(Frames&& fields) {
  const auto command = static_cast<Command>(static_cast<const std::uint8_t*>(fields.front().data())[3]);
  const bool payload_apart = has_payload(command) && fields.back().size() > max_inline_payload;
  const bool payload_inline = has_payload(command) && !payload_apart;
  const std::size_t packed = fields.size() - (payload_apart ? 1 : 0);
  std::size_t body = payload_apart ? 5 : 0;  // the reference: u32 payload_reference, u8 1
  for (std::size_t i = 1; i < packed; ++i) body += 4 + fields[i].size();
  const std::size_t size = header_size + command_header_size + body;
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
  const std::uint8_t batch_header[header_size] = {signature_0, signature_1, version, 0};
  std::memcpy(out, batch_header, header_size);
  out += header_size;
  *out++ = static_cast<std::uint8_t>(command);
  put_u32(out, body);
  out += 4;
  for (std::size_t i = 1; i < packed; ++i) {
    put_u32(out, fields[i].size());
    if (fields[i].size() != 0) std::memcpy(out + 4, fields[i].data(), fields[i].size());
    out += 4 + fields[i].size();
  }
  if (payload_apart) {
    put_u32(out, payload_reference);
    out[4] = 1;
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

std::uint32_t get_u32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) | in[3];
}

// Reads a batch frame command by command into one field list each (a header frame first, then
// one frame per field: what the decoders read), payload references resolved.
class BatchReader {
 public:
  explicit BatchReader(Frames& wire) : wire_(wire), referred_(wire.size(), false) {
    if (wire.empty()) malformed("no frames");
    if (wire.size() > max_frames) malformed("a message has at most " + std::to_string(max_frames) + " frames");
    check_batch_header(wire.front());  // signature and version before anything else (bad_version)
    if (wire.front().size() > max_batch_bytes) malformed("a batch frame is over 256 KiB");
    referred_[0] = true;
  }

  // The next command's fields, or nothing at the end of the batch. Throws for a malformed one.
  std::optional<Frames> next() {
    const auto* bytes = static_cast<const std::uint8_t*>(wire_.front().data());
    const std::size_t size = wire_.front().size();
    if (at_ == size) {
      check_every_frame_referred();
      return std::nullopt;
    }
    if (++commands_ > max_batch_commands) malformed("more than " + std::to_string(max_batch_commands) + " commands");
    if (size - at_ < command_header_size) malformed("a command header is cut off");
    const auto command = static_cast<Command>(bytes[at_]);
    const std::size_t length = get_u32(bytes + at_ + 1);
    at_ += command_header_size;
    if (length > size - at_) malformed("a command is longer than its batch");
    Frames fields;
    fields.push_back(header_frame(command));
    const std::size_t end = at_ + length;
    while (at_ < end) {
      if (fields.size() > max_fields) malformed("more than " + std::to_string(max_fields) + " fields");
      if (end - at_ < 4) malformed("a field length is cut off");
      const std::uint32_t field = get_u32(bytes + at_);
      at_ += 4;
      if (field == payload_reference) {
        fields.push_back(referred_frame(command, bytes, end));
        if (at_ != end) malformed("a payload reference must be the command's last field");
        continue;
      }
      if (field > end - at_) malformed("a field is longer than its command");
      fields.emplace_back(bytes + at_, field);
      at_ += field;
    }
    return fields;
  }

 private:
  zmq::message_t referred_frame(Command command, const std::uint8_t* bytes, std::size_t end) {
    if (!has_payload(command)) malformed("only a payload may be in a frame of its own");
    if (end - at_ < 1) malformed("a payload reference is cut off");
    const std::size_t k = bytes[at_++];
    if (k == 0 || k >= wire_.size()) malformed("a payload reference to frame " + std::to_string(k) + ", which is not there");
    if (referred_[k]) malformed("payload frame " + std::to_string(k) + " referred to twice");
    referred_[k] = true;
    return std::move(wire_[k]);
  }

  void check_every_frame_referred() const {
    for (std::size_t k = 1; k < referred_.size(); ++k) {
      if (!referred_[k]) malformed("frame " + std::to_string(k) + " is not referred to by any command");
    }
  }

  Frames& wire_;
  std::vector<bool> referred_;
  std::size_t at_ = header_size;
  std::size_t commands_ = 0;
};

template <class... Parts>
Frames frames_of(Command command, Parts&&... parts) {
  Frames frames;
  frames.reserve(1 + sizeof...(parts));
  frames.push_back(header_frame(command));
  (frames.push_back(std::forward<Parts>(parts)), ...);
  return pack(std::move(frames));
}

struct ClientEncoder {
  Frames operator()(Hello&& m) {
    return frames_of(Command::hello, string_frame(m.name), zmq::message_t(m.endpoint_id.data(), m.endpoint_id.size()));
  }
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
  Frames operator()(Begin&& m) {
    return frames_of(Command::begin, int_frame(m.seq), string_frame(m.group), int_frame(static_cast<std::uint8_t>(m.kind)),
                     int_frame(m.copies), int_frame(m.size));
  }
  Frames operator()(Chunk&& m) { return frames_of(Command::chunk, int_frame(m.seq), int_frame(m.offset), std::move(m.data)); }
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
                     int_frame(m.delivery_id), int_frame(m.attempt),
                     zmq::message_t(m.object.producer.data(), m.object.producer.size()), int_frame(m.object.seq),
                     int_frame(m.object.copy), std::move(m.payload));
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
  Frames operator()(DeliverBegin&& m) {
    return frames_of(Command::deliver_begin, string_frame(m.group), int_frame(static_cast<std::uint8_t>(m.kind)),
                     int_frame(m.delivery_id), int_frame(m.attempt),
                     zmq::message_t(m.object.producer.data(), m.object.producer.size()), int_frame(m.object.seq),
                     int_frame(m.object.copy), int_frame(m.size));
  }
  Frames operator()(DeliverChunk&& m) {
    return frames_of(Command::deliver_chunk, int_frame(m.delivery_id), int_frame(m.offset), std::move(m.data));
  }
  Frames operator()(Abort&& m) { return frames_of(Command::abort, int_frame(m.delivery_id)); }
};

void expect_frames(const Frames& frames, std::size_t count, const char* command) {
  if (frames.size() != count) {
    malformed(std::string(command) + " takes " + std::to_string(count - 1) + " fields, got " +
              std::to_string(frames.size() - 1));
  }
}

Kind read_kind(const zmq::message_t& frame) {
  const auto kind = read_int<std::uint8_t>(frame, "kind");
  if (kind != static_cast<std::uint8_t>(Kind::broadcast) && kind != static_cast<std::uint8_t>(Kind::produced)) {
    malformed("unknown delivery kind " + std::to_string(kind));
  }
  return static_cast<Kind>(kind);
}

// A chunk's bytes: 1 to chunk_size of them.
zmq::message_t read_chunk(zmq::message_t&& data) {
  if (data.size() == 0 || data.size() > chunk_size) malformed("a chunk holds 1 to 1 MiB, got " + std::to_string(data.size()));
  return std::move(data);
}

ClientMessage decode_client_body(Command command, Frames& f) {
  switch (command) {
    case Command::hello:
      expect_frames(f, 3, "HELLO");
      return Hello{read_text(f[1], "name"), read_endpoint_id(f[2])};
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
    case Command::begin:
      expect_frames(f, 6, "BEGIN");
      return Begin{read_int<std::uint64_t>(f[1], "seq"), read_group(f[2]), read_kind(f[3]),
                   read_int<std::uint32_t>(f[4], "copies"), read_int<std::uint64_t>(f[5], "size")};
    case Command::chunk:
      expect_frames(f, 4, "CHUNK");
      return Chunk{read_int<std::uint64_t>(f[1], "seq"), read_int<std::uint64_t>(f[2], "offset"), read_chunk(std::move(f[3]))};
    default:
      malformed("unknown client command " + std::to_string(static_cast<int>(command)));
  }
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
      expect_frames(f, 9, "DELIVER");
      return Deliver{read_group(f[1]),
                     read_kind(f[2]),
                     read_int<std::uint64_t>(f[3], "delivery id"),
                     read_int<std::uint32_t>(f[4], "attempt"),
                     std::move(f[8]),
                     ObjectId{read_endpoint_id(f[5]), read_int<std::uint64_t>(f[6], "object seq"),
                              read_int<std::uint32_t>(f[7], "object copy")}};
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
    case Command::deliver_begin:
      expect_frames(f, 9, "DELIVER-BEGIN");
      return DeliverBegin{read_group(f[1]),
                          read_kind(f[2]),
                          read_int<std::uint64_t>(f[3], "delivery id"),
                          read_int<std::uint32_t>(f[4], "attempt"),
                          ObjectId{read_endpoint_id(f[5]), read_int<std::uint64_t>(f[6], "object seq"),
                                   read_int<std::uint32_t>(f[7], "object copy")},
                          read_int<std::uint64_t>(f[8], "size")};
    case Command::deliver_chunk:
      expect_frames(f, 4, "DELIVER-CHUNK");
      return DeliverChunk{read_int<std::uint64_t>(f[1], "delivery id"), read_int<std::uint64_t>(f[2], "offset"),
                          read_chunk(std::move(f[3]))};
    case Command::abort:
      expect_frames(f, 2, "ABORT");
      return Abort{read_int<std::uint64_t>(f[1], "delivery id")};
    default:
      malformed("unknown broker command " + std::to_string(static_cast<int>(command)));
  }
}

Command read_command(const Frames& fields) { return static_cast<Command>(static_cast<const std::uint8_t*>(fields.front().data())[3]); }

// Every command of a batch, decoded by `body`; a malformed one ends the batch there.
template <class Message, class Body>
Batch<Message> decode_batch(Frames& wire, Body body) {
  Batch<Message> batch;
  try {
    BatchReader reader(wire);
    while (auto fields = reader.next()) batch.messages.push_back(body(read_command(*fields), *fields));
  } catch (const Error& e) {
    batch.error = e;
  }
  return batch;
}

// Exactly one command, or the error.
template <class Message>
Message only(Batch<Message>&& batch) {
  if (batch.error) throw *batch.error;
  if (batch.messages.size() != 1) malformed("expected one command, got " + std::to_string(batch.messages.size()));
  return std::move(batch.messages.front());
}

}  // namespace

Frames encode(ClientMessage&& message) { return std::visit(ClientEncoder{}, std::move(message)); }
Frames encode(BrokerMessage&& message) { return std::visit(BrokerEncoder{}, std::move(message)); }

Batch<ClientMessage> decode_client_batch(Frames& frames) { return decode_batch<ClientMessage>(frames, decode_client_body); }
Batch<BrokerMessage> decode_broker_batch(Frames& frames) { return decode_batch<BrokerMessage>(frames, decode_broker_body); }
ClientMessage decode_client(Frames& frames) { return only(decode_client_batch(frames)); }
BrokerMessage decode_broker(Frames& frames) { return only(decode_broker_batch(frames)); }

bool valid_group(std::string_view group) noexcept {
  if (group.empty() || group.size() > max_group_size) return false;
  for (const char c : group) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return false;
  }
  return true;
}

}  // namespace zrelay::protocol
