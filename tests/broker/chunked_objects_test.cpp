// Objects over chunk_size in BrokerCore: uploads (BEGIN, CHUNKs) judged at BEGIN and applied
// when complete, and streams to clients (DELIVER-BEGIN, DELIVER-CHUNKs) from the one copy, as
// their connections take the chunks.
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

using namespace protocol;

const EndpointId producer_id{0xCC, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// `chunks` chunks and a half: bytes that say where they are from.
std::string large(char tag, double chunks = 2.5) {
  std::string bytes(static_cast<std::size_t>(chunks * static_cast<double>(chunk_size)), tag);
  for (std::size_t i = 0; i < bytes.size(); i += 1000) bytes[i] = static_cast<char>(i / 1000);
  return bytes;
}

class ChunkedObjects : public BrokerCoreTest {
 protected:
  void SetUp() override {
    BrokerCoreTest::SetUp();
    hello_with_id("p");
  }
  void hello_with_id(const ClientId& client) {
    auto out = send(client, Hello{client, producer_id});
    ASSERT_TRUE(std::holds_alternative<Welcome>(out.at(0).message));
  }
  // BEGIN and every CHUNK; the replies to all of them.
  std::vector<Outgoing> upload(const ClientId& from, std::uint64_t seq, const std::string& group, Kind kind,
                               const std::string& bytes, std::uint32_t copies = 1) {
    auto out = send(from, Begin{seq, group, kind, copies, bytes.size()});
    for (std::size_t at = 0; at < bytes.size(); at += chunk_size) {
      const std::size_t size = std::min(chunk_size, bytes.size() - at);
      for (auto& o : send(from, Chunk{seq, at, zmq::message_t(bytes.data() + at, size)})) out.push_back(std::move(o));
    }
    return out;
  }
  // What reached `to` of streams, assembled: every object whose chunks all came, in order.
  struct Received {
    std::vector<DeliverBegin> begun;
    std::vector<std::string> whole;
    std::vector<std::uint64_t> aborted;
  };
  static void collect(std::vector<Outgoing> out, const ClientId& to, Received& r, std::map<std::uint64_t, std::string>& partial) {
    for (auto& o : out) {
      if (o.to != to) continue;
      if (auto* b = std::get_if<DeliverBegin>(&o.message)) {
        r.begun.push_back(*b);
        partial[b->delivery_id].reserve(b->size);
      } else if (auto* c = std::get_if<DeliverChunk>(&o.message)) {
        std::string& bytes = partial[c->delivery_id];
        ASSERT_EQ(c->offset, bytes.size()) << "a chunk out of order";
        bytes += c->data.to_string();
        const auto begun = std::find_if(r.begun.begin(), r.begun.end(), [&](const DeliverBegin& started) { return started.delivery_id == c->delivery_id; });
        ASSERT_NE(begun, r.begun.end());
        if (bytes.size() == begun->size) r.whole.push_back(std::move(bytes));
      } else if (auto* a = std::get_if<Abort>(&o.message)) {
        r.aborted.push_back(a->delivery_id);
      } else if (auto* d = std::get_if<Deliver>(&o.message)) {
        r.whole.push_back(d->payload.to_string());
      }
    }
  }
  // Takes what the core sends `to`, letting each batch go (as a connection that takes
  // everything), until nothing more comes.
  Received drain(const ClientId& to, std::vector<Outgoing> first) {
    Received r;
    std::map<std::uint64_t, std::string> partial;
    collect(std::move(first), to, r, partial);
    for (int turn = 0; turn < 1000; ++turn) {
      core->pump_streams();
      auto out = core->take_outbox();
      if (out.empty()) break;
      collect(std::move(out), to, r, partial);
    }
    return r;
  }
};

TEST_F(ChunkedObjects, AnUploadIsAppliedWhenCompleteAndStreamsToAMember) {
  hello("m");
  join("m", "w");
  const std::string value = large('v');
  auto out = send("p", Begin{1, "w", Kind::broadcast, 1, value.size()});
  EXPECT_TRUE(out.empty());
  EXPECT_GE(core->account().bytes(), value.size()) << "the whole object is reserved at BEGIN";
  EXPECT_FALSE(core->group("w")->last_value_size().has_value()) << "applied before it is complete";
  out = send("p", Chunk{1, 0, zmq::message_t(value.data(), chunk_size)});
  out = upload("p", 99, "other", Kind::broadcast, large('o'));  // another upload interleaves
  auto rest = send("p", Chunk{1, chunk_size, zmq::message_t(value.data() + chunk_size, chunk_size)});
  auto last = send("p", Chunk{1, 2 * chunk_size, zmq::message_t(value.data() + 2 * chunk_size, value.size() - 2 * chunk_size)});
  ASSERT_EQ(core->group("w")->last_value_size(), value.size());
  const Received got = drain("m", std::move(last));
  ASSERT_EQ(got.begun.size(), 1u);
  EXPECT_EQ(got.begun[0].object, (ObjectId{producer_id, 1, 0}));
  ASSERT_EQ(got.whole.size(), 1u);
  EXPECT_TRUE(got.whole[0] == value);
}

TEST_F(ChunkedObjects, AStreamSendsTheNextChunkOnlyWhenTheConnectionTookTheLast) {
  hello("m");
  join("m", "w");
  const std::string value = large('v', 6);
  auto out = upload("p", 1, "w", Kind::broadcast, value);
  std::size_t chunks = 0;
  for (const auto& o : out) chunks += std::holds_alternative<DeliverChunk>(o.message) ? 1 : 0;
  EXPECT_EQ(chunks, BrokerCore::stream_window / chunk_size) << "more than the window went out at once";
  core->pump_streams();
  EXPECT_TRUE(core->take_outbox().empty()) << "the connection has not taken the first chunks yet";
  out.clear();  // libzmq wrote them
  core->pump_streams();
  chunks = 0;
  for (const auto& o : core->take_outbox()) chunks += std::holds_alternative<DeliverChunk>(o.message) ? 1 : 0;
  EXPECT_EQ(chunks, 2u);
}

TEST_F(ChunkedObjects, AChunkTheSocketRefusedIsSentAgainFromThere) {
  hello("m");
  join("m", "w");
  auto out = upload("p", 1, "w", Kind::broadcast, large('v', 3));
  ASSERT_TRUE(std::holds_alternative<DeliverChunk>(out.back().message));
  const std::uint64_t offset = std::get<DeliverChunk>(out.back().message).offset;
  ASSERT_GT(offset, 0u);
  Outgoing refused = std::move(out.back());
  out.clear();  // the ones before it went out
  undeliverable(std::move(refused), false);
  core->pump_streams();  // what libzmq released wakes the loop: the full socket is not tried again now
  EXPECT_TRUE(core->take_outbox().empty()) << "a full socket tried again at once: the loop would spin";
  const auto again = tick_at(std::chrono::milliseconds(100));
  ASSERT_FALSE(again.empty());
  ASSERT_TRUE(std::holds_alternative<DeliverChunk>(again[0].message)) << "started over instead of resent";
  EXPECT_EQ(std::get<DeliverChunk>(again[0].message).offset, offset);
}

TEST_F(ChunkedObjects, ASlowMemberFinishesTheValueItReceivesThenGetsTheNewest) {
  hello("m");
  join("m", "w");
  auto first = upload("p", 1, "w", Kind::broadcast, large('1'));
  (void)upload("p", 2, "w", Kind::broadcast, large('2'));
  auto third = upload("p", 3, "w", Kind::broadcast, large('3'));
  first.insert(first.end(), std::make_move_iterator(third.begin()), std::make_move_iterator(third.end()));
  const Received got = drain("m", std::move(first));
  ASSERT_EQ(got.whole.size(), 2u);
  EXPECT_EQ(got.whole[0][1], '1');
  EXPECT_EQ(got.whole[1][1], '3') << "the newest after the one streaming, nothing in between";
  EXPECT_EQ(stats_of("w").broadcasts_skipped, 1u);
}

TEST_F(ChunkedObjects, AMemberThatLeavesMidStreamGetsAbortThenLeft) {
  hello("m");
  join("m", "w");
  auto out = upload("p", 1, "w", Kind::broadcast, large('v', 4));
  ASSERT_FALSE(out.empty());
  auto left = send("m", Leave{"w"});
  ASSERT_EQ(left.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Abort>(left[0].message));
  EXPECT_TRUE(std::holds_alternative<Left>(left[1].message));
  out.clear();
  core->pump_streams();
  EXPECT_TRUE(core->take_outbox().empty()) << "chunks after the ABORT";
}

TEST_F(ChunkedObjects, AProducedItemStreamsAndAnItemBehindItWaits) {
  hello("c");
  join("c", "q");
  (void)send("c", Ready{"q", 10});
  auto out = upload("p", 1, "q", Kind::produced, large('i'));
  for (auto& o : send("p", Produce{2, "q", 1, bytes("small")})) out.push_back(std::move(o));
  const Received got = drain("c", std::move(out));
  ASSERT_EQ(got.whole.size(), 2u);
  EXPECT_EQ(got.whole[0][1], 'i');
  EXPECT_EQ(got.whole[1], "small") << "the small item overtook the large one of its group";
  EXPECT_EQ(got.begun.at(0).kind, Kind::produced);
  EXPECT_EQ(core->statistics().sessions.size(), 2u);
}

TEST_F(ChunkedObjects, ALostUploadReleasesItsReservationAndIsJudgedAgainWhenSentAgain) {
  const std::string value = large('v');
  (void)send("p", Begin{1, "q", Kind::produced, 1, value.size()});
  (void)send("p", Chunk{1, 0, zmq::message_t(value.data(), chunk_size)});
  EXPECT_GE(core->account().bytes(), value.size());
  core->connection_closed("p");
  EXPECT_LT(core->account().bytes(), value.size()) << "the reservation outlived the session";
  user_id_of = [](const ClientId&) { return std::string("key-p"); };
  hello_with_id("p2");  // a new session of the same endpoint
  EXPECT_TRUE(upload("p2", 1, "q", Kind::produced, value).empty());
  EXPECT_EQ(core->group("q")->queue_size(), 1u) << "the lost upload counted as applied";
}

TEST_F(ChunkedObjects, AnUploadSentAgainAfterItWasAppliedIsNotAppliedTwice) {
  user_id_of = [](const ClientId&) { return std::string("key-p"); };
  hello_with_id("p1");
  const std::string value = large('v');
  EXPECT_TRUE(upload("p1", 5, "q", Kind::produced, value).empty());
  core->connection_closed("p1");
  hello_with_id("p2");
  EXPECT_TRUE(upload("p2", 5, "q", Kind::produced, value).empty()) << "its chunks are swallowed without a word";
  EXPECT_EQ(core->group("q")->queue_size(), 1u);
}

TEST_F(ChunkedObjects, ARefusedUploadIsAnsweredOnceAndItsChunksSwallowed) {
  BrokerLimits limits;
  limits.max_message_size = 2 * chunk_size;
  make_core(limits);
  hello_with_id("p");
  const auto out = upload("p", 4, "w", Kind::broadcast, large('v'));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<ErrorReply>(out[0].message).code, ErrorCode::too_large);
  EXPECT_EQ(std::get<ErrorReply>(out[0].message).seq, 4u);
}

TEST_F(ChunkedObjects, AChunkOutOfOrderDropsTheUploadWithAnError) {
  const std::string value = large('v');
  (void)send("p", Begin{1, "q", Kind::produced, 1, value.size()});
  const auto out = send("p", Chunk{1, chunk_size, zmq::message_t(value.data(), chunk_size)});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::malformed_message);
  EXPECT_EQ(error_in(out)->seq, 1u);
  EXPECT_LT(core->account().bytes(), value.size());
  EXPECT_EQ(error_in(send("p", Chunk{1, 0, zmq::message_t(value.data(), chunk_size)}))->code, ErrorCode::invalid_argument)
      << "a CHUNK of no upload";
}

TEST_F(ChunkedObjects, AnObjectOverAChunkInOneMessageIsRefused) {
  const std::string value = large('v', 1.5);
  const auto out = send("p", Broadcast{1, "w", zmq::message_t(value.data(), value.size())});
  ASSERT_NE(error_in(out), nullptr);
  EXPECT_EQ(error_in(out)->code, ErrorCode::invalid_argument);
  const auto small = send("p", Begin{2, "w", Kind::broadcast, 1, 10});
  ASSERT_NE(error_in(small), nullptr) << "a small object in chunks";
  EXPECT_EQ(error_in(small)->code, ErrorCode::invalid_argument);
}

TEST_F(ChunkedObjects, AtMostFourUploadsAtOnce) {
  for (std::uint64_t seq = 1; seq <= 4; ++seq) EXPECT_TRUE(send("p", Begin{seq, "q", Kind::produced, 1, 3 * chunk_size}).empty());
  const auto fifth = send("p", Begin{5, "q", Kind::produced, 1, 3 * chunk_size});
  ASSERT_NE(error_in(fifth), nullptr);
  EXPECT_EQ(error_in(fifth)->seq, 5u);
}

}  // namespace
}  // namespace zrelay::broker

namespace zrelay::broker {
namespace {

// The producer's small objects go on while a large one uploads: more than the 1024 seqs of the
// dedupe window may pass it. It is still applied when complete (before, it counted as handled
// and vanished without a word), and a resend of it after a lost session is judged again.
TEST_F(ChunkedObjects, AnUploadOvertakenByMoreThanTheDedupeWindowIsStillApplied) {
  const std::string value = large('v');
  (void)send("p", Begin{1, "q", Kind::produced, 1, value.size()});
  (void)send("p", Chunk{1, 0, zmq::message_t(value.data(), chunk_size)});
  for (std::uint64_t seq = 2; seq < 2 + 2 * ProducerTable::window_seqs; ++seq) (void)send("p", Produce{seq, "other", 1, bytes("s")});
  core->connection_closed("p");  // lost mid-upload
  user_id_of = [](const ClientId&) { return std::string("key-p"); };
  hello_with_id("p2");
  EXPECT_TRUE(upload("p2", 1, "q", Kind::produced, value).empty()) << "the resend was not judged again";
  ASSERT_EQ(core->group("q")->queue_size(), 1u);
  EXPECT_TRUE(upload("p2", 1, "q", Kind::produced, value).empty());
  EXPECT_EQ(core->group("q")->queue_size(), 1u) << "applied twice";
}

}  // namespace
}  // namespace zrelay::broker

namespace zrelay::broker {
namespace {

// A member that stays alive (PINGs) but never reads would keep the value it receives forever:
// after 10 liveness windows without a chunk taken it is forgotten (GOODBYE overflowed), and the
// value it held is released. A member whose connection takes chunks is never cut off.
TEST_F(ChunkedObjects, AMemberWhoseStreamStallsIsCutOff) {
  hello("m");
  join("m", "w");
  hello("r");
  join("r", "w");
  auto held = upload("p", 1, "w", Kind::broadcast, large('v', 4));  // m's chunks: never taken
  std::erase_if(held, [](const Outgoing& o) { return o.to != "m"; });
  const auto limit = core->limits().liveness * 10;
  std::vector<Outgoing> last;
  for (auto t = std::chrono::milliseconds(0); t <= limit + std::chrono::seconds(1); t += std::chrono::milliseconds(500)) {
    (void)send_at(t, "m", Ping{1});
    (void)send_at(t, "r", Ping{1});
    (void)send_at(t, "p", Ping{1});
    last = tick_at(t);
    std::erase_if(last, [](const Outgoing& o) { return o.to != "m"; });  // r takes everything
    if (goodbye_to(last, "m") != nullptr) break;
  }
  ASSERT_NE(goodbye_to(last, "m"), nullptr) << "a stalled stream held its member forever";
  EXPECT_EQ(goodbye_to(last, "m")->reason, GoodbyeReason::overflowed);
  EXPECT_EQ(core->client_count(), 2u) << "p and r stay";
}

}  // namespace
}  // namespace zrelay::broker
