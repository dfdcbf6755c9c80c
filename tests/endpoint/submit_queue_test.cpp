#include "endpoint/submit_queue.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "endpoint/outbound_log.hpp"

namespace zrelay::endpoint {
namespace {

using namespace std::chrono_literals;
using Pushed = SubmitQueue::Pushed;

protocol::ClientMessage object_of(std::size_t size, std::uint64_t seq = 1) {
  return protocol::Produce{seq, "g", 1, zmq::message_t(size)};
}

std::optional<SubmitQueue::Clock::time_point> soon() { return SubmitQueue::Clock::now() + 20ms; }

TEST(SubmitQueue, InOrderWithOneWakeUpPerBurst) {
  SubmitQueue queue(16, 1 << 20);
  EXPECT_EQ(queue.push(object_of(10, 1), std::nullopt), Pushed::first);
  EXPECT_EQ(queue.push(object_of(10, 2), std::nullopt), Pushed::queued);
  EXPECT_EQ(std::get<protocol::Produce>(*queue.take()).seq, 1u);
  EXPECT_EQ(std::get<protocol::Produce>(*queue.take()).seq, 2u);
  EXPECT_FALSE(queue.take().has_value());
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.push(protocol::Ready{"g", 1}, std::nullopt), Pushed::first) << "empty again: wake the thread";
}

TEST(SubmitQueue, BytesHeldStayWithinTheBoundPlusOneObject) {
  SubmitQueue queue(16, 100);
  EXPECT_EQ(queue.push(object_of(1000), soon()), Pushed::first) << "an object larger than the bound still goes";
  EXPECT_EQ(queue.push(object_of(1), soon()), Pushed::timed_out) << "1000 bytes held: no room";
  (void)queue.take();
  EXPECT_EQ(queue.push(object_of(1), soon()), Pushed::timed_out) << "taken, not yet confirmed: still held";
  queue.set_unconfirmed_bytes(1000);
  EXPECT_EQ(queue.push(object_of(1), soon()), Pushed::timed_out) << "unconfirmed by the broker: still held";
  queue.set_unconfirmed_bytes(0);
  EXPECT_EQ(queue.push(object_of(60), soon()), Pushed::first);
  EXPECT_EQ(queue.push(object_of(60), soon()), Pushed::queued) << "60 < 100: one more";
  EXPECT_EQ(queue.push(object_of(1), soon()), Pushed::timed_out) << "120 held";
}

TEST(SubmitQueue, ABoundByCountAndAConfirmationWakeAWaitingSubmit) {
  SubmitQueue queue(2, 1000);
  ASSERT_EQ(queue.push(protocol::Ready{"g", 1}, std::nullopt), Pushed::first);
  ASSERT_EQ(queue.push(protocol::Ready{"g", 1}, std::nullopt), Pushed::queued);
  EXPECT_EQ(queue.push(protocol::Ready{"g", 1}, soon()), Pushed::timed_out) << "two queued";
  std::thread waiter([&] { EXPECT_EQ(queue.push(protocol::Ready{"g", 1}, std::nullopt), Pushed::queued); });
  (void)queue.take();  // room by count wakes it
  waiter.join();

  SubmitQueue bytes(16, 10);
  ASSERT_EQ(bytes.push(object_of(10), std::nullopt), Pushed::first);
  (void)bytes.take();
  bytes.set_unconfirmed_bytes(10);
  std::thread confirmed([&] { EXPECT_EQ(bytes.push(object_of(5), std::nullopt), Pushed::first); });
  bytes.set_unconfirmed_bytes(0);  // the broker confirmed it
  confirmed.join();
}

TEST(SubmitQueue, CloseEndsWaitingAndLaterSubmits) {
  SubmitQueue queue(1, 1000);
  ASSERT_EQ(queue.push(protocol::Ready{"g", 1}, std::nullopt), Pushed::first);
  std::thread waiter([&] { EXPECT_EQ(queue.push(protocol::Ready{"g", 1}, std::nullopt), Pushed::closed); });
  queue.close();
  waiter.join();
  EXPECT_EQ(queue.push(protocol::Ready{"g", 1}, std::nullopt), Pushed::closed);
  EXPECT_TRUE(queue.empty()) << "what was queued is dropped";
}

TEST(OutboundLogBytes, CountsUnconfirmedPayloadsAndAsksForAConfirmationByBytes) {
  OutboundLog log(256, 100);
  (void)log.record(object_of(60, 1));
  EXPECT_EQ(log.unconfirmed_bytes(), 60u);
  EXPECT_FALSE(log.confirmation_due());
  (void)log.record(object_of(60, 2));
  EXPECT_TRUE(log.confirmation_due()) << "120 bytes since the last PING";
  const protocol::Ping ping = log.heartbeat();
  EXPECT_FALSE(log.confirmation_due());
  log.on_pong(ping.token);
  EXPECT_EQ(log.unconfirmed_bytes(), 0u);
  EXPECT_EQ(log.unconfirmed(), 0u);
}

}  // namespace
}  // namespace zrelay::endpoint
