#include "protocol/batch_builder.hpp"

#include <cstring>

#include <gtest/gtest.h>

#include "protocol/limits.hpp"

namespace zrelay::protocol {
namespace {

zmq::message_t bytes(std::size_t size, char fill) {
  zmq::message_t m(size);
  std::memset(m.data(), fill, size);
  return m;
}

// Several commands of every shape a sender joins: small ones, a payload inside the batch frame
// and one in a frame of its own.
std::vector<ClientMessage> mixed_commands() {
  std::vector<ClientMessage> commands;
  commands.emplace_back(Ack{{7, 9}});
  commands.emplace_back(Produce{1, "g", 1, bytes(64, 'a')});
  commands.emplace_back(Ready{"g", 16});
  commands.emplace_back(Broadcast{2, "w", bytes(max_inline_payload + 1, 'b')});  // a frame of its own
  commands.emplace_back(Produce{3, "g", 2, bytes(max_inline_payload, 'c')});
  commands.emplace_back(Ping{5});
  return commands;
}

std::vector<ClientMessage> decoded(Frames& message) {
  auto batch = decode_client_batch(message);
  EXPECT_FALSE(batch.error.has_value()) << batch.error->what();
  return std::move(batch.messages);
}

// The same command, compared by its encoding (which covers every field and the payload).
std::string encoding_of(ClientMessage&& message) {
  std::string text;
  for (zmq::message_t& frame : encode(std::move(message))) text += frame.to_string() + '|';
  return text;
}

TEST(BatchBuilder, ManyCommandsInOneMessageDecodeToWhatOneMessageEachWould) {
  BatchBuilder builder;
  for (ClientMessage& command : mixed_commands()) {
    Frames message = encode(std::move(command));
    ASSERT_TRUE(builder.add(message));
  }
  Frames joined = builder.take();
  EXPECT_TRUE(builder.empty());
  ASSERT_EQ(joined.size(), 2u) << "one batch frame (one CURVE box) and the one large payload";
  std::vector<ClientMessage> got = decoded(joined);
  std::vector<ClientMessage> want = mixed_commands();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(encoding_of(std::move(got[i])), encoding_of(std::move(want[i]))) << "command " << i;
  }
}

TEST(BatchBuilder, ALoneMessageLeavesAsItWasEncoded) {
  BatchBuilder builder;
  Frames message = encode(Ping{1});
  const void* data = message.front().data();
  ASSERT_TRUE(builder.add(message));
  Frames out = builder.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.front().data(), data) << "not copied";
}

TEST(BatchBuilder, ASecondPayloadFrameStartsTheNextMessage) {
  BatchBuilder builder;
  Frames first = encode(Broadcast{1, "w", bytes(protocol::chunk_size, 'x')});
  Frames second = encode(Chunk{2, 0, bytes(protocol::chunk_size, 'y')});
  Frames small = encode(Ping{3});
  ASSERT_TRUE(builder.add(first));
  EXPECT_FALSE(builder.add(second)) << "a message carries at most one large payload (ZMQ_MAXMSGSIZE)";
  EXPECT_EQ(second.size(), 2u) << "a refused message is left as it was";
  EXPECT_TRUE(builder.add(small)) << "small commands ride along";
  Frames joined = builder.take();
  EXPECT_EQ(decoded(joined).size(), 2u);
  ASSERT_TRUE(builder.add(second));
  Frames next = builder.take();
  EXPECT_EQ(std::get<Chunk>(decode_client(next)).data.size(), protocol::chunk_size);
}

TEST(BatchBuilder, StopsAtTheBatchFramesBounds) {
  BatchBuilder by_bytes;
  std::size_t taken = 0;
  for (;; ++taken) {
    Frames message = encode(Produce{taken, "g", 1, bytes(max_inline_payload, 'p')});
    if (!by_bytes.add(message)) break;
  }
  Frames joined = by_bytes.take();
  EXPECT_LE(joined.front().size(), max_batch_bytes);
  EXPECT_GT(joined.front().size() + max_inline_payload + 64, max_batch_bytes) << "filled up to the bound";
  EXPECT_EQ(decoded(joined).size(), taken);

  BatchBuilder by_count;
  std::size_t pings = 0;
  for (;; ++pings) {
    Frames message = encode(Ping{pings});
    if (!by_count.add(message)) break;
  }
  EXPECT_EQ(pings, max_batch_commands);
  Frames full = by_count.take();
  EXPECT_EQ(decoded(full).size(), max_batch_commands);
}

TEST(BatchBuilder, JoinedBatchesJoinAgainInOrder) {
  BatchBuilder inner;
  for (std::uint64_t token = 1; token <= 3; ++token) {
    Frames message = encode(Ping{token});
    ASSERT_TRUE(inner.add(message));
  }
  Frames three = inner.take();
  BatchBuilder outer;
  Frames zero = encode(Ping{0});
  ASSERT_TRUE(outer.add(zero));
  ASSERT_TRUE(outer.add(three));
  Frames four = outer.take();
  std::vector<ClientMessage> got = decoded(four);
  ASSERT_EQ(got.size(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_EQ(std::get<Ping>(got[i]).token, i);
}

TEST(BatchBuilder, BrokerMessagesJoinToo) {
  BatchBuilder builder;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    Frames message = encode(Deliver{"g", Kind::produced, id, 1, bytes(10, 'd'), ObjectId{}});
    ASSERT_TRUE(builder.add(message));
  }
  Frames joined = builder.take();
  auto batch = decode_broker_batch(joined);
  ASSERT_FALSE(batch.error.has_value());
  ASSERT_EQ(batch.messages.size(), 3u);
  EXPECT_EQ(std::get<Deliver>(batch.messages[2]).delivery_id, 3u);
  EXPECT_EQ(std::get<Deliver>(batch.messages[2]).payload.to_string(), std::string(10, 'd'));
}

}  // namespace
}  // namespace zrelay::protocol
