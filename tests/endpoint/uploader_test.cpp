// Objects over chunk_size leaving the endpoint (Uploader) and arriving at it (Session's
// reassembly), without sockets.
#include "endpoint/uploader.hpp"

#include <gtest/gtest.h>

#include "endpoint/session.hpp"

namespace zrelay::endpoint {
namespace {

using namespace protocol;

zmq::message_t bytes(std::size_t size, char fill = 'x') { return zmq::message_t(std::string(size, fill)); }

struct Wire {
  std::vector<ClientMessage> messages;
  std::vector<std::uint64_t> sent;
  std::uint64_t next_token = 1;
};

std::vector<ClientMessage> next(Uploader& uploader, Wire& wire, std::uint64_t confirmed) {
  auto out = uploader.next(
      confirmed, [&] { return Ping{wire.next_token++}; }, [&](std::uint64_t seq) { wire.sent.push_back(seq); });
  return out;
}

std::size_t count_chunks(const std::vector<ClientMessage>& messages) {
  return static_cast<std::size_t>(std::count_if(messages.begin(), messages.end(), [](const ClientMessage& m) {
    return std::holds_alternative<Chunk>(m);
  }));
}

TEST(Uploader, ALargeObjectGoesAsBeginThenChunksAtMostAWindowAheadOfThePongs) {
  Uploader uploader;
  ClientMessage object = Broadcast{3, "w", bytes(6 * chunk_size + 10)};
  ASSERT_TRUE(uploader.takes(object));
  uploader.push(std::move(object));
  Wire wire;
  auto out = next(uploader, wire, 0);
  ASSERT_FALSE(out.empty());
  const auto& begin = std::get<Begin>(out[0]);
  EXPECT_EQ(begin.seq, 3u);
  EXPECT_EQ(begin.size, 6 * chunk_size + 10);
  EXPECT_EQ(count_chunks(out), Uploader::window);
  EXPECT_TRUE(std::holds_alternative<Ping>(out.back())) << "a PING after each chunk";
  EXPECT_TRUE(next(uploader, wire, 0).empty()) << "nothing more before a PONG";
  out = next(uploader, wire, 2);  // the PONGs to the first two chunks' PINGs
  EXPECT_EQ(count_chunks(out), 2u);
  EXPECT_EQ(std::get<Chunk>(out[0]).offset, Uploader::window * chunk_size);
  EXPECT_TRUE(wire.sent.empty());
  out = next(uploader, wire, 6);
  EXPECT_EQ(count_chunks(out), 1u);
  EXPECT_EQ(std::get<Chunk>(out[0]).data.size(), 10u) << "the last chunk is shorter";
  EXPECT_EQ(wire.sent, std::vector<std::uint64_t>{3}) << "sent once its last byte went out";
  EXPECT_TRUE(uploader.idle());
}

TEST(Uploader, LaterObjectsOfItsGroupWaitOthersDoNot) {
  Uploader uploader;
  uploader.push(Produce{1, "q", 1, bytes(2 * chunk_size)});
  EXPECT_TRUE(uploader.takes(Produce{2, "q", 1, bytes(3)})) << "same group: behind the large one";
  EXPECT_FALSE(uploader.takes(Produce{3, "other", 1, bytes(3)}));
  EXPECT_FALSE(uploader.takes(Ready{"q", 1}));
  uploader.push(Produce{2, "q", 1, bytes(3)});
  Wire wire;
  auto out = next(uploader, wire, 0);
  ASSERT_TRUE(std::holds_alternative<Produce>(out.back())) << "the small one right after the last chunk";
  EXPECT_EQ(std::get<Produce>(out.back()).seq, 2u);
  EXPECT_EQ(wire.sent, (std::vector<std::uint64_t>{1, 2}));
}

TEST(Uploader, ARestartForgetsWhatWasSent) {
  Uploader uploader;
  uploader.push(Broadcast{1, "w", bytes(8 * chunk_size)});
  Wire wire;
  (void)next(uploader, wire, 0);
  uploader.restart();
  EXPECT_TRUE(uploader.idle()) << "the session resends what was not confirmed, and it comes back through push";
  uploader.push(Broadcast{1, "w", bytes(8 * chunk_size)});
  const auto out = next(uploader, wire, 0);
  EXPECT_TRUE(std::holds_alternative<Begin>(out.at(0))) << "from the start";
}

// The session's side: an object arriving in chunks is handed over whole; one partly received
// when the session is lost is dropped (the broker streams it again on the next session).
TEST(SessionReassembly, ChunksBecomeOneDeliveryAndAPartialOneDiesWithItsSession) {
  Session session({"w"}, "me");
  (void)session.open();
  session.on_message(Welcome{1ull << 32, "v"});
  session.on_message(Joined{"w"});
  ASSERT_EQ(session.state(), SessionState::active);
  const std::string value(chunk_size + 5, 'v');
  session.on_message(DeliverBegin{"w", Kind::broadcast, 8, 1, ObjectId{{1}, 4, 0}, value.size()});
  session.on_message(DeliverChunk{8, 0, zmq::message_t(value.data(), chunk_size)});
  EXPECT_TRUE(session.take_deliveries().empty());
  session.on_message(DeliverChunk{8, chunk_size, zmq::message_t(value.data() + chunk_size, 5)});
  auto got = session.take_deliveries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].text() == value);
  EXPECT_EQ(got[0].object_id(), (ObjectId{{1}, 4, 0}));

  session.on_message(DeliverBegin{"w", Kind::broadcast, 9, 1, ObjectId{{1}, 5, 0}, value.size()});
  session.on_message(DeliverChunk{9, 0, zmq::message_t(value.data(), chunk_size)});
  session.lose("gone");
  (void)session.open();
  session.on_message(Welcome{1ull << 32, "v"});
  session.on_message(Joined{"w"});
  session.on_message(DeliverChunk{9, chunk_size, zmq::message_t(value.data() + chunk_size, 5)});
  EXPECT_TRUE(session.take_deliveries().empty()) << "a rest of the lost session completed an object";

  session.on_message(DeliverBegin{"w", Kind::broadcast, 10, 1, ObjectId{{1}, 6, 0}, value.size()});
  session.on_message(Abort{10});
  session.on_message(DeliverChunk{10, 0, zmq::message_t(value.data(), chunk_size)});
  EXPECT_TRUE(session.take_deliveries().empty());
  EXPECT_EQ(session.state(), SessionState::active);
}

TEST(SessionReassembly, AChunkOutOfOrderLosesTheSession) {
  Session session({}, "me");
  (void)session.open();
  session.on_message(Welcome{1ull << 32, "v"});
  ASSERT_EQ(session.state(), SessionState::active);
  session.on_message(DeliverBegin{"w", Kind::produced, 8, 1, ObjectId{}, 2 * chunk_size});
  session.on_message(DeliverChunk{8, chunk_size, zmq::message_t(chunk_size)});
  EXPECT_EQ(session.state(), SessionState::reconnecting);
}

}  // namespace
}  // namespace zrelay::endpoint

#include "endpoint/outbound_log.hpp"

namespace zrelay::endpoint {
namespace {

// An object not on the wire yet (uploading) holds back no later object's confirmation, so an
// endpoint uploading a large object keeps sending small ones to other groups; a sync waits.
TEST(OutboundLogUnsent, LaterObjectsAreConfirmedASyncWaitsForTheUpload) {
  OutboundLog log;
  log.record_unsent(protocol::Broadcast{1, "w", bytes(3)});
  (void)log.record(protocol::Produce{2, "q", 1, bytes(3)});
  (void)log.record(protocol::Ping{7});  // an application sync: wire token 1
  log.on_pong(1);
  EXPECT_EQ(log.unconfirmed(), 2u) << "the upload and the sync behind it";
  EXPECT_EQ(log.confirmed_sync(), 0u);
  log.sent(1);
  const protocol::Ping after = log.heartbeat();
  log.on_pong(after.token);
  EXPECT_EQ(log.unconfirmed(), 0u);
  EXPECT_EQ(log.confirmed_sync(), 7u);
}

}  // namespace
}  // namespace zrelay::endpoint
