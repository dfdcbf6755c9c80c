#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include "protocol/frame_io.hpp"
#include "protocol/limits.hpp"
#include "tests/support/raw_client.hpp"

namespace zrelay::protocol {
namespace {

// These frames exactly, on the wire.
Frames wire_frames(const std::vector<std::string>& parts) {
  Frames frames;
  for (const auto& part : parts) frames.emplace_back(part.data(), part.size());
  return frames;
}

// A message given by its fields (header first), in wire form (tests/support/raw_client.hpp).
Frames frames_of(std::initializer_list<std::string> fields) { return wire_frames(testing::wire(fields)); }

std::vector<std::string> fields_of(const Frames& frames) {
  std::vector<std::string> wire;
  for (const auto& frame : frames) wire.push_back(frame.to_string());
  return testing::fields(wire);
}

std::string header(Command command) {
  return std::string("ZR", 2) + static_cast<char>(version) + static_cast<char>(command);
}

template <class T>
T round_trip_client(ClientMessage&& message) {
  Frames frames = encode(std::move(message));
  return std::get<T>(decode_client(frames));
}

template <class T>
T round_trip_broker(BrokerMessage&& message) {
  Frames frames = encode(std::move(message));
  return std::get<T>(decode_broker(frames));
}

ErrorCode client_error(Frames frames) {
  try {
    (void)decode_client(frames);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

TEST(Codec, ClientMessagesRoundTrip) {
  EXPECT_EQ(round_trip_client<Hello>(Hello{"worker-1"}).name, "worker-1");
  const EndpointId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(round_trip_client<Hello>(Hello{"w", id}).endpoint_id, id);
  EXPECT_EQ(round_trip_client<Join>(Join{"consumers"}).group, "consumers");
  EXPECT_EQ(round_trip_client<Leave>(Leave{"consumers"}).group, "consumers");
  const auto broadcast = round_trip_client<Broadcast>(Broadcast{7, "g", zmq::message_t(std::string("weights"))});
  EXPECT_EQ(broadcast.seq, 7u);
  EXPECT_EQ(broadcast.group, "g");
  EXPECT_EQ(broadcast.payload.to_string(), "weights");
  const auto produce = round_trip_client<Produce>(Produce{0xFFFFFFFFFFull, "q", 300, zmq::message_t(std::string("x"))});
  EXPECT_EQ(produce.seq, 0xFFFFFFFFFFull);
  EXPECT_EQ(produce.copies, 300u);
  EXPECT_EQ(produce.payload.to_string(), "x");
  EXPECT_EQ(round_trip_client<Ready>(Ready{"q", -1}).credits, -1);
  EXPECT_EQ(round_trip_client<Ready>(Ready{"q", 256}).credits, 256);
  EXPECT_EQ(round_trip_client<Ping>(Ping{42}).token, 42u);
  EXPECT_NO_THROW(round_trip_client<Bye>(Bye{}));
  const auto ack = round_trip_client<Ack>(Ack{{1, 0xFFFFFFFFFFFFFFFFull, 42}});
  EXPECT_EQ(ack.delivery_ids, (std::vector<std::uint64_t>{1, 0xFFFFFFFFFFFFFFFFull, 42}));
}

TEST(Codec, BrokerMessagesRoundTrip) {
  const auto welcome = round_trip_broker<Welcome>(Welcome{1u << 28, "zrelay 0.1", 0xABCDEF0123456789ull, 1000, 3000});
  EXPECT_EQ(welcome.max_message_size, 1u << 28);
  EXPECT_EQ(welcome.broker_version, "zrelay 0.1");
  EXPECT_EQ(welcome.instance, 0xABCDEF0123456789ull);
  EXPECT_EQ(welcome.heartbeat_ms, 1000u);
  EXPECT_EQ(welcome.liveness_ms, 3000u);
  EXPECT_EQ(round_trip_broker<Joined>(Joined{"g"}).group, "g");
  EXPECT_EQ(round_trip_broker<Left>(Left{"g"}).group, "g");
  const ObjectId object{{9, 8, 7}, 0xFFFFFFFFFFull, 65535};
  const auto deliver =
      round_trip_broker<Deliver>(Deliver{"g", Kind::produced, 99, 3, zmq::message_t(std::string("p")), object});
  EXPECT_EQ(deliver.object, object);
  EXPECT_EQ(deliver.kind, Kind::produced);
  EXPECT_EQ(deliver.delivery_id, 99u);
  EXPECT_EQ(deliver.attempt, 3u);
  EXPECT_EQ(deliver.payload.to_string(), "p");
  const auto error = round_trip_broker<ErrorReply>(ErrorReply{ErrorCode::queue_full, 5, "g", "full"});
  EXPECT_EQ(error.code, ErrorCode::queue_full);
  EXPECT_EQ(error.seq, 5u);
  EXPECT_EQ(error.group, "g");
  EXPECT_EQ(error.text, "full");
  EXPECT_EQ(round_trip_broker<ErrorReply>(ErrorReply{ErrorCode::hello_expected, 0, "", "x"}).group, "");
  EXPECT_EQ(round_trip_broker<Pong>(Pong{3}).token, 3u);
  EXPECT_EQ(round_trip_broker<Goodbye>(Goodbye{}).reason, GoodbyeReason::bye);
  EXPECT_EQ(round_trip_broker<Goodbye>(Goodbye{GoodbyeReason::expired}).reason, GoodbyeReason::expired);
  EXPECT_EQ(round_trip_broker<Goodbye>(Goodbye{GoodbyeReason::revoked}).reason, GoodbyeReason::revoked);
  const auto stats = round_trip_broker<StatsReply>(StatsReply{12, "{\"clients\":1}"});
  EXPECT_EQ(stats.seq, 12u);
  EXPECT_EQ(stats.json, "{\"clients\":1}");
}

TEST(Codec, StatsRequestCarriesItsSeq) {
  Frames frames = encode(ClientMessage{Stats{7}});
  ASSERT_EQ(fields_of(frames).size(), 2u);
  EXPECT_EQ(std::get<Stats>(decode_client(frames)).seq, 7u);
  EXPECT_EQ(client_error(frames_of({header(Command::stats)})), ErrorCode::malformed_message) << "no seq";
}

TEST(Codec, AckIdsAreOneFieldOfBigEndianU64) {
  Frames frames = encode(ClientMessage{Ack{{258}}});
  ASSERT_EQ(fields_of(frames).size(), 2u);
  EXPECT_EQ(fields_of(frames)[1], std::string("\x00\x00\x00\x00\x00\x00\x01\x02", 8));
  EXPECT_EQ(client_error(frames_of({header(Command::ack), ""})), ErrorCode::malformed_message) << "no ids";
  EXPECT_EQ(client_error(frames_of({header(Command::ack), "1234567"})), ErrorCode::malformed_message) << "7 bytes";
  EXPECT_EQ(client_error(frames_of({header(Command::ack), std::string(8 * 8193, '\0')})), ErrorCode::malformed_message)
      << "over 8192 ids";
  EXPECT_EQ(client_error(frames_of({header(Command::ack), std::string(8 * 8192, '\0')})), ErrorCode::ok);
}

TEST(Codec, RejectsUnknownGoodbyeReason) {
  Frames frames = frames_of({header(Command::goodbye), std::string("\x05", 1)});
  EXPECT_THROW((void)decode_broker(frames), Error);
}

// docs/protocol.md's first example: `JOIN "g"` as a batch of one command.
TEST(Codec, ABatchFrameIsSignatureVersionFlagsThenCommands) {
  Frames frames = encode(ClientMessage{Join{"g"}});
  ASSERT_EQ(frames.size(), 1u) << "fields travel in the batch frame";
  EXPECT_EQ(frames[0].to_string(), std::string("ZR\x03\x00" "\x02" "\0\0\0\x05" "\0\0\0\x01g", 14));
}

TEST(Codec, SmallPayloadsTravelInTheHeaderFrameLargeOnesApart) {
  Frames small = encode(ClientMessage{Produce{7, "g", 1, zmq::message_t(std::string("payload"))}});
  ASSERT_EQ(small.size(), 1u) << "one CURVE box for a small message";
  EXPECT_EQ(fields_of(small), (std::vector<std::string>{header(Command::produce), std::string("\0\0\0\0\0\0\0\x07", 8),
                                                        "g", std::string("\0\0\0\x01", 4), "payload"}));
  const std::string limit(max_inline_payload, 'i');
  EXPECT_EQ(encode(BrokerMessage{Deliver{"g", Kind::produced, 1, 1, zmq::message_t(limit)}}).size(), 1u);
  const std::string large(max_inline_payload + 1, 'x');
  Frames apart = encode(ClientMessage{Broadcast{8, "g", zmq::message_t(large)}});
  ASSERT_EQ(apart.size(), 2u);
  EXPECT_EQ(apart[1].to_string(), large);
  EXPECT_EQ(std::get<Broadcast>(decode_client(apart)).payload.to_string(), large);
  Frames wire = frames_of({header(Command::broadcast), std::string(8, '\0'), "g", "p"});
  EXPECT_EQ(wire.size(), 2u) << "a sender may put even a small payload apart";
  EXPECT_EQ(std::get<Broadcast>(decode_client(wire)).payload.to_string(), "p");
}

TEST(Codec, AnInlinedPayloadLivesAsLongAsItsHeaderFrame) {
  bool freed = false;
  auto* text = new std::string("weights");
  zmq::message_t payload(text->data(), text->size(), [](void* /*data*/, void* hint) {
    auto* owned = static_cast<std::pair<std::string*, bool*>*>(hint);
    *owned->second = true;
    delete owned->first;
    delete owned;
  }, new std::pair<std::string*, bool*>(text, &freed));
  Frames frames = encode(BrokerMessage{Deliver{"g", Kind::broadcast, 1, 1, std::move(payload)}});
  EXPECT_FALSE(freed) << "the header frame holds it (the broker counts its bytes until then)";
  frames.clear();
  EXPECT_TRUE(freed);
}

TEST(Codec, IntegersAreBigEndian) {
  Frames frames = encode(ClientMessage{Ready{"g", 258}});
  EXPECT_EQ(fields_of(frames).at(2), std::string("\x00\x00\x01\x02", 4));
}

TEST(Codec, RejectsBadSignatureAndVersion) {
  EXPECT_EQ(client_error(frames_of({"XR\x02\x02", "g"})), ErrorCode::bad_version);
  EXPECT_EQ(client_error(wire_frames({std::string("ZR\x01\x02", 4), "g"})), ErrorCode::bad_version)
      << "version 1 sent fields as frames";
  EXPECT_EQ(client_error(frames_of({std::string("ZR\x09\x02", 4), "g"})), ErrorCode::bad_version);
  EXPECT_EQ(client_error(frames_of({"ZR", "g"})), ErrorCode::bad_version);
}

TEST(Codec, RejectsBrokenFraming) {
  const std::string join = header(Command::join);
  EXPECT_EQ(client_error(wire_frames({join + std::string("\0\0\0", 3)})), ErrorCode::malformed_message)
      << "a length cut off";
  EXPECT_EQ(client_error(wire_frames({join + std::string("\0\0\0\x05g", 5)})), ErrorCode::malformed_message)
      << "a field longer than its frame";
  EXPECT_EQ(client_error(wire_frames({join + std::string("\0\0\0\x01g", 5), "", ""})), ErrorCode::malformed_message)
      << "three frames";
  EXPECT_EQ(client_error(wire_frames({join + std::string("\0\0\0\x01g", 5), "g"})), ErrorCode::malformed_message)
      << "JOIN has no payload frame";
  EXPECT_EQ(client_error(wire_frames({join, "g"})), ErrorCode::malformed_message)
      << "a JOIN's only field in a frame 1 (it used to be read as the group)";
  EXPECT_EQ(client_error(wire_frames({header(Command::ready) + std::string("\0\0\0\x01g", 5), std::string("\0\0\0\x01", 4)})),
            ErrorCode::malformed_message)
      << "READY's credits in a frame 1";
  std::string fields = header(Command::bye);
  for (int i = 0; i < 9; ++i) fields += std::string(4, '\0');
  EXPECT_EQ(client_error(wire_frames({fields})), ErrorCode::malformed_message) << "more than 8 fields";
  EXPECT_EQ(round_trip_client<Join>(Join{std::string(255, 'g')}).group, std::string(255, 'g'));
}

TEST(Codec, RejectsMalformedMessages) {
  EXPECT_EQ(client_error(Frames{}), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::join)})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::join), "g", "extra"})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::join), ""})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::join), std::string(256, 'g')})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::join), std::string("a\nb")})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::ready), "g", "\x01"})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::broadcast), "1234567", "g", "p"})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(static_cast<Command>(0x7f))})), ErrorCode::malformed_message);
  EXPECT_EQ(client_error(frames_of({header(Command::welcome), "12345678", "v"})), ErrorCode::malformed_message)
      << "a broker command is not a client command";
  EXPECT_EQ(client_error(frames_of({header(Command::hello), std::string(1025, 'n')})), ErrorCode::malformed_message);
  Frames many = frames_of({header(Command::bye)});
  for (int i = 0; i < 8; ++i) many.emplace_back();  // 9 frames on the wire
  EXPECT_EQ(client_error(std::move(many)), ErrorCode::malformed_message);
}

// docs/protocol.md's batch example: ACK [7], ACK [9], READY "g" 16 in one frame.
std::string batch_example() {
  return std::string("ZR\x03\x00", 4) +                                                 //
         std::string("\x09\0\0\0\x0C" "\0\0\0\x08" "\0\0\0\0\0\0\0\x07", 17) +  //
         std::string("\x09\0\0\0\x0C" "\0\0\0\x08" "\0\0\0\0\0\0\0\x09", 17) +  //
         std::string("\x06\0\0\0\x0D" "\0\0\0\x01g" "\0\0\0\x04" "\0\0\0\x10", 18);
}

TEST(CodecBatch, EveryCommandOfABatchIsDecodedInOrder) {
  Frames frames = wire_frames({batch_example()});
  auto batch = decode_client_batch(frames);
  ASSERT_FALSE(batch.error.has_value()) << batch.error->what();
  ASSERT_EQ(batch.messages.size(), 3u);
  EXPECT_EQ(std::get<Ack>(batch.messages[0]).delivery_ids, std::vector<std::uint64_t>{7});
  EXPECT_EQ(std::get<Ack>(batch.messages[1]).delivery_ids, std::vector<std::uint64_t>{9});
  EXPECT_EQ(std::get<Ready>(batch.messages[2]).credits, 16);
  EXPECT_EQ(batch_example().size(), 56u) << "the size docs/protocol.md gives";
  Frames again = wire_frames({batch_example()});
  EXPECT_THROW((void)decode_client(again), Error) << "decode_client wants exactly one command";
}

TEST(CodecBatch, AMalformedCommandEndsTheBatchTheOnesBeforeStand) {
  std::string frame = batch_example();
  frame[4 + 17] = '\x7F';  // the second command's code: unknown
  Frames frames = wire_frames({frame});
  auto batch = decode_client_batch(frames);
  ASSERT_EQ(batch.messages.size(), 1u);
  ASSERT_TRUE(batch.error.has_value());
  EXPECT_EQ(batch.error->code(), ErrorCode::malformed_message);
}

TEST(CodecBatch, FlagsAndLimitsOfTheBatchFrame) {
  std::string flagged = batch_example();
  flagged[3] = '\x01';
  EXPECT_EQ(client_error(wire_frames({flagged})), ErrorCode::malformed_message) << "unknown flags";
  EXPECT_EQ(client_error(wire_frames({std::string("ZR\x02\x00", 4)})), ErrorCode::bad_version);
  const std::string ping = std::string("\x07\0\0\0\x0C" "\0\0\0\x08", 9) + std::string(8, '\0');
  std::string many("ZR\x03\x00", 4);
  for (int i = 0; i < 1025; ++i) many += ping;
  Frames frames = wire_frames({many});
  auto batch = decode_client_batch(frames);
  EXPECT_EQ(batch.messages.size(), 1024u);
  ASSERT_TRUE(batch.error.has_value()) << "more than 1024 commands";
  std::string big("ZR\x03\x00", 4);
  while (big.size() <= max_batch_bytes) big += ping;
  EXPECT_EQ(client_error(wire_frames({big})), ErrorCode::malformed_message) << "a batch frame over 256 KiB";
}

TEST(CodecBatch, PayloadReferencesAreCheckedOneByOne) {
  const std::string produce_to_frame_1 = std::string("ZR\x03\x00", 4) + std::string("\x05\0\0\0\x1E", 5) +
                                         std::string("\0\0\0\x08\0\0\0\0\0\0\0\x01" "\0\0\0\x01g" "\0\0\0\x04\0\0\0\x01", 25) +
                                         std::string("\xFF\xFF\xFF\xFF\x01", 5);
  Frames good = wire_frames({produce_to_frame_1, "payload"});
  EXPECT_EQ(std::get<Produce>(decode_client(good)).payload.to_string(), "payload");
  EXPECT_EQ(client_error(wire_frames({produce_to_frame_1})), ErrorCode::malformed_message) << "frame 1 missing";
  EXPECT_EQ(client_error(wire_frames({produce_to_frame_1, "payload", "extra"})), ErrorCode::malformed_message)
      << "a frame nobody refers to";
  std::string twice("ZR\x03\x00", 4);
  twice += produce_to_frame_1.substr(4) + produce_to_frame_1.substr(4);
  EXPECT_EQ(client_error(wire_frames({twice, "payload"})), ErrorCode::malformed_message) << "frame 1 referred to twice";
  const std::string join_ref = std::string("ZR\x03\x00", 4) + std::string("\x02\0\0\0\x05" "\xFF\xFF\xFF\xFF\x01", 10);
  EXPECT_EQ(client_error(wire_frames({join_ref, "g"})), ErrorCode::malformed_message) << "a JOIN's group by reference";
}

TEST(Codec, RejectsUnknownDeliveryKind) {
  Frames frames =
      frames_of({header(Command::deliver), "g", std::string("\x03", 1), std::string(8, '\0'), std::string(4, '\0'), "p"});
  EXPECT_THROW((void)decode_broker(frames), Error);
}

TEST(Codec, ValidGroupNames) {
  EXPECT_TRUE(valid_group("consumers"));
  EXPECT_TRUE(valid_group("models/policy v2:κ"));
  EXPECT_TRUE(valid_group(std::string(255, 'x')));
  EXPECT_FALSE(valid_group(""));
  EXPECT_FALSE(valid_group(std::string(256, 'x')));
  EXPECT_FALSE(valid_group(std::string("a\0b", 3)));
  EXPECT_FALSE(valid_group("tab\there"));
  EXPECT_FALSE(valid_group("del\x7f"));
}

}  // namespace
}  // namespace zrelay::protocol

namespace zrelay::protocol {
namespace {

std::string hex(const zmq::message_t& frame) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < frame.size(); ++i) {
    const auto byte = static_cast<const std::uint8_t*>(frame.data())[i];
    if (i != 0) out += ' ';
    out += digits[byte >> 4];
    out += digits[byte & 0x0F];
  }
  return out;
}

// The example of docs/protocol.md, "Large objects": a broadcast of 3 MiB to "w" with seq 7.
TEST(CodecChunks, TheDocumentedBeginAndChunkBytes) {
  Frames begin = encode(ClientMessage{Begin{7, "w", Kind::broadcast, 1, 3 * 1024 * 1024}});
  ASSERT_EQ(begin.size(), 1u);
  EXPECT_EQ(hex(begin[0]),
            "5A 52 03 00 0B 00 00 00 2A 00 00 00 08 00 00 00 00 00 00 00 07 00 00 00 01 77 00 00 00 01 01 "
            "00 00 00 04 00 00 00 01 00 00 00 08 00 00 00 00 00 30 00 00");
  Frames chunk = encode(ClientMessage{Chunk{7, 0, zmq::message_t(chunk_size)}});
  ASSERT_EQ(chunk.size(), 2u) << "a chunk travels in a frame of its own";
  EXPECT_EQ(hex(chunk[0]),
            "5A 52 03 00 0C 00 00 00 1D 00 00 00 08 00 00 00 00 00 00 00 07 00 00 00 08 00 00 00 00 00 00 00 00 "
            "FF FF FF FF 01");
  EXPECT_EQ(chunk[1].size(), chunk_size);
}

TEST(CodecChunks, EveryChunkCommandRoundTrips) {
  const auto b = round_trip_client<Begin>(Begin{9, "g", Kind::produced, 3, 5'000'000});
  EXPECT_EQ(b.seq, 9u);
  EXPECT_EQ(b.group, "g");
  EXPECT_EQ(b.kind, Kind::produced);
  EXPECT_EQ(b.copies, 3u);
  EXPECT_EQ(b.size, 5'000'000u);
  const auto c = round_trip_client<Chunk>(Chunk{9, 1u << 20, zmq::message_t(std::string_view("abc"))});
  EXPECT_EQ(c.offset, 1u << 20);
  EXPECT_EQ(c.data.to_string(), "abc");
  EndpointId producer{};
  producer[0] = 0xAB;
  const auto db = round_trip_broker<DeliverBegin>(DeliverBegin{"g", Kind::broadcast, 42, 2, ObjectId{producer, 9, 0}, 7'000'000});
  EXPECT_EQ(db.delivery_id, 42u);
  EXPECT_EQ(db.attempt, 2u);
  EXPECT_EQ(db.object, (ObjectId{producer, 9, 0}));
  EXPECT_EQ(db.size, 7'000'000u);
  const auto dc = round_trip_broker<DeliverChunk>(DeliverChunk{42, 3, zmq::message_t(std::string_view("xyz"))});
  EXPECT_EQ(dc.delivery_id, 42u);
  EXPECT_EQ(dc.offset, 3u);
  EXPECT_EQ(dc.data.to_string(), "xyz");
  EXPECT_EQ(round_trip_broker<Abort>(Abort{42}).delivery_id, 42u);
}

TEST(CodecChunks, AChunkHoldsOneToOneMebibyte) {
  for (const std::size_t size : {std::size_t{0}, chunk_size + 1}) {
    Frames empty = encode(ClientMessage{Chunk{1, 0, zmq::message_t(size)}});
    EXPECT_THROW((void)decode_client(empty), Error) << size;
    Frames down = encode(BrokerMessage{DeliverChunk{1, 0, zmq::message_t(size)}});
    EXPECT_THROW((void)decode_broker(down), Error) << size;
  }
  Frames bad_kind = encode(ClientMessage{Begin{1, "g", static_cast<Kind>(3), 1, chunk_size + 1}});
  EXPECT_THROW((void)decode_client(bad_kind), Error);
}

}  // namespace
}  // namespace zrelay::protocol
