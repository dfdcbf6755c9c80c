#include "endpoint/inbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace zrelay::endpoint {
namespace {

using std::chrono::milliseconds;

Message text_message(const std::string& text) {
  return Message("g", Kind::broadcast, 0, zmq::message_t(text.data(), text.size()));
}

void push(Inbox& inbox, std::initializer_list<std::string> texts) {
  std::vector<Message> messages;
  for (const auto& t : texts) messages.push_back(text_message(t));
  inbox.push(std::move(messages));
}

std::vector<std::string> texts(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.emplace_back(m.text());
  return out;
}

TEST(Inbox, PopIsFifoAndHonoursMaxItems) {
  Inbox inbox;
  push(inbox, {"1", "2", "3"});
  EXPECT_EQ(texts(inbox.pop(1, milliseconds(0))), std::vector<std::string>{"1"});
  EXPECT_EQ(texts(inbox.pop(5, milliseconds(0))), (std::vector<std::string>{"2", "3"}));
  EXPECT_TRUE(inbox.pop(1, milliseconds(0)).empty());
}

TEST(Inbox, GetLastKeepsTheNewestAndDiscardsTheRest) {
  Inbox inbox;
  push(inbox, {"1", "2", "3", "4"});
  EXPECT_EQ(texts(inbox.get_last(2, milliseconds(0))), (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(inbox.size(), 0u);
}

TEST(Inbox, GetLastHandsOverWhatItDiscards) {
  Inbox inbox;
  push(inbox, {"1", "2", "3"});
  std::vector<Message> discarded;
  EXPECT_EQ(texts(inbox.get_last(1, milliseconds(0), &discarded)), std::vector<std::string>{"3"});
  EXPECT_EQ(texts(discarded), (std::vector<std::string>{"1", "2"}));
}

Message produced(const std::string& text, std::uint64_t id) {
  return Message("q", Kind::produced, id, zmq::message_t(text.data(), text.size()));
}

TEST(Inbox, PastItsBoundTheOldestBroadcastIsDroppedAndCounted) {
  Inbox inbox(2);
  std::vector<Message> messages;
  messages.push_back(text_message("b1"));
  messages.push_back(produced("p1", 1));
  messages.push_back(text_message("b2"));
  messages.push_back(text_message("b3"));
  messages.push_back(produced("p2", 2));
  inbox.push(std::move(messages));
  push(inbox, {"b4"});
  EXPECT_EQ(texts(inbox.receive_all(milliseconds(0))), (std::vector<std::string>{"p1", "b3", "p2", "b4"}));
  EXPECT_EQ(inbox.dropped_broadcasts(), 2u);
}

Message broadcast_of(const std::string& group, const std::string& text) {
  return Message(group, Kind::broadcast, 0, zmq::message_t(text.data(), text.size()));
}

// Past the byte bound, only the newest waiting broadcast of each group stays; produced items
// and the order of what stays are untouched.
TEST(Inbox, PastItsByteBoundOnlyTheNewestBroadcastOfEachGroupStays) {
  Inbox inbox(1000, 10);
  std::vector<Message> messages;
  messages.push_back(broadcast_of("w", "w1...."));
  messages.push_back(produced("p1", 1));
  messages.push_back(broadcast_of("v", "v1"));
  messages.push_back(broadcast_of("w", "w2...."));  // 14 bytes of broadcasts now
  inbox.push(std::move(messages));
  EXPECT_EQ(inbox.dropped_broadcasts(), 1u);
  EXPECT_EQ(texts(inbox.receive_all(milliseconds(0))), (std::vector<std::string>{"p1", "v1", "w2...."}));
  std::vector<Message> more;
  more.push_back(broadcast_of("w", "w3"));
  more.push_back(broadcast_of("w", "w4"));
  inbox.push(std::move(more));
  EXPECT_EQ(inbox.dropped_broadcasts(), 1u) << "under the bound again (the taken ones no longer count)";
}

TEST(Inbox, TakingBroadcastsMakesRoomAgain) {
  Inbox inbox(2);
  push(inbox, {"1", "2"});
  (void)inbox.pop(1, milliseconds(0));
  push(inbox, {"3"});
  EXPECT_EQ(inbox.dropped_broadcasts(), 0u);
  EXPECT_EQ(inbox.size(), 2u);
}

TEST(Inbox, DiscardProducedKeepsBroadcastsAndCountsPerGroup) {
  Inbox inbox;
  std::vector<Message> messages;
  messages.push_back(produced("p1", 1));
  messages.push_back(text_message("b1"));
  messages.push_back(produced("p2", 2));
  inbox.push(std::move(messages));
  const auto discarded = inbox.discard_produced();
  EXPECT_EQ(discarded, (std::map<std::string, std::size_t>{{"q", 2}}));
  EXPECT_EQ(texts(inbox.receive_all(milliseconds(0))), std::vector<std::string>{"b1"});
}

// AckMode::manual: older produced items are not skipped (nobody could acknowledge them), older
// broadcasts are.
TEST(Inbox, GetLastCanKeepOlderProducedItemsForPop) {
  Inbox inbox;
  std::vector<Message> messages;
  messages.push_back(produced("p1", 1));
  messages.push_back(text_message("b1"));
  messages.push_back(produced("p2", 2));
  messages.push_back(text_message("b2"));
  inbox.push(std::move(messages));
  std::vector<Message> discarded;
  EXPECT_EQ(texts(inbox.get_last(1, milliseconds(0), &discarded, true)), std::vector<std::string>{"b2"});
  EXPECT_EQ(texts(discarded), std::vector<std::string>{"b1"});
  EXPECT_EQ(texts(inbox.pop(5, milliseconds(0))), (std::vector<std::string>{"p1", "p2"}));
}

TEST(Inbox, ReceiveAllTakesEverything) {
  Inbox inbox;
  push(inbox, {"1", "2"});
  EXPECT_EQ(texts(inbox.receive_all(milliseconds(0))), (std::vector<std::string>{"1", "2"}));
}

TEST(Inbox, ZeroTimeoutNeverBlocksAndTimeoutReturnsEmpty) {
  Inbox inbox;
  EXPECT_TRUE(inbox.pop(1, milliseconds(0)).empty());
  EXPECT_TRUE(inbox.receive_all(milliseconds(20)).empty());
}

TEST(Inbox, ForeverWaitsForAnotherThread) {
  Inbox inbox;
  std::thread producer([&] { push(inbox, {"late"}); });
  EXPECT_EQ(texts(inbox.pop(1, milliseconds::max())), std::vector<std::string>{"late"});
  producer.join();
}

TEST(Inbox, CloseWakesABlockedWaiter) {
  Inbox inbox;
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    EXPECT_THROW((void)inbox.pop(1, milliseconds::max()), Error);
    woke = true;
  });
  inbox.close(Error(ErrorCode::closed, "stopped"));
  waiter.join();  // hangs (and ctest times out) if close does not wake the waiter
  EXPECT_TRUE(woke);
}

TEST(Inbox, CloseThrowsOnlyWhenEmpty) {
  Inbox inbox;
  push(inbox, {"kept"});
  inbox.close(Error(ErrorCode::closed, "stopped"));
  EXPECT_EQ(texts(inbox.pop(1, milliseconds::max())), std::vector<std::string>{"kept"});
  try {
    (void)inbox.pop(1, milliseconds::max());
    FAIL() << "expected zrelay::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::closed);
  }
}

}  // namespace
}  // namespace zrelay::endpoint
