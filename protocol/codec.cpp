#include "protocol/codec.hpp"

#include "protocol/frame_io.hpp"

namespace zrelay::protocol {
namespace {

using namespace detail;

template <class... Parts>
Frames frames_of(Command command, Parts&&... parts) {
  Frames frames;
  frames.reserve(1 + sizeof...(parts));
  frames.push_back(header_frame(command));
  (frames.push_back(std::forward<Parts>(parts)), ...);
  return frames;
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
    malformed(std::string(command) + " takes " + std::to_string(count) + " frames, got " +
              std::to_string(frames.size()));
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

Command read_command(const Frames& frames) {
  if (frames.empty()) malformed("no frames");
  if (frames.size() > max_frames) malformed("more than " + std::to_string(max_frames) + " frames");
  return static_cast<Command>(read_header(frames.front()));
}

}  // namespace

Frames encode(ClientMessage&& message) { return std::visit(ClientEncoder{}, std::move(message)); }
Frames encode(BrokerMessage&& message) { return std::visit(BrokerEncoder{}, std::move(message)); }

ClientMessage decode_client(Frames& frames) { return decode_client_body(read_command(frames), frames); }
BrokerMessage decode_broker(Frames& frames) { return decode_broker_body(read_command(frames), frames); }

bool valid_group(std::string_view group) noexcept {
  if (group.empty() || group.size() > max_group_size) return false;
  for (const char c : group) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return false;
  }
  return true;
}

}  // namespace zrelay::protocol
