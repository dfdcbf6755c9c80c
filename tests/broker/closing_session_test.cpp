// After BYE the client is forgotten, but the broker keeps a closing record until GOODBYE went
// out: behind the replies still waiting, and again if a full peer refused it.
#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

using std::chrono::milliseconds;

class ClosingSession : public BrokerCoreTest {
 protected:
  void refuse_all(std::vector<Outgoing>&& out) {
    std::vector<Undelivered> failed;
    for (auto& o : out) failed.push_back(Undelivered{std::move(o), false});
    core->undeliverable(std::move(failed));
  }
};

TEST_F(ClosingSession, AGoodbyeAFullPeerRefusedIsSentAgain) {
  hello("c");
  auto out = send("c", Bye{});
  ASSERT_NE(goodbye_to(out, "c"), nullptr);
  EXPECT_EQ(core->client_count(), 0u);
  refuse_all(std::move(out));
  out = tick_at(milliseconds(100));
  ASSERT_NE(goodbye_to(out, "c"), nullptr) << "not lost";
  EXPECT_EQ(goodbye_to(out, "c")->reason, GoodbyeReason::bye);
  EXPECT_TRUE(tick_at(milliseconds(200)).empty()) << "taken this time: the record is gone";
  EXPECT_TRUE(tick_at(milliseconds(300)).empty());
}

TEST_F(ClosingSession, NothingIsSentAfterGoodbye) {
  hello("c");
  auto out = send("c", Ping{1});
  undeliverable(std::move(out.at(0)), false);
  EXPECT_TRUE(send("c", Bye{}).empty());
  out = send("c", Ping{2});  // a client that talks on after BYE is unknown
  EXPECT_TRUE(out.empty()) << "its error waits behind GOODBYE";
  out = tick_at(milliseconds(100));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Pong>(out[0].message));
  EXPECT_TRUE(std::holds_alternative<Goodbye>(out[1].message));
  EXPECT_EQ(std::get<ErrorReply>(out[2].message).code, ErrorCode::hello_expected);
}

TEST_F(ClosingSession, AGonePeerEndsTheRecord) {
  hello("c");
  auto out = send("c", Bye{});
  undeliverable(std::move(out.at(0)), /*peer_gone=*/true);
  EXPECT_TRUE(tick_at(milliseconds(100)).empty());
}

TEST_F(ClosingSession, APeerThatNeverReadsIsNotWaitedForBeyondLiveness) {
  hello("c");
  for (int i = 1; i <= 40; ++i) {
    auto out = i == 1 ? send("c", Bye{}) : tick_at(milliseconds(100 * i));
    if (out.empty()) break;
    refuse_all(std::move(out));
  }
  EXPECT_TRUE(tick_at(BrokerLimits{}.liveness + milliseconds(4200)).empty());
}

TEST_F(ClosingSession, HelloStartsANewSession) {
  hello("c");
  auto out = send("c", Bye{});
  refuse_all(std::move(out));
  hello("c");
  EXPECT_EQ(core->client_count(), 1u);
  EXPECT_TRUE(tick_at(milliseconds(100)).empty()) << "the old session's GOODBYE is dropped";
}

}  // namespace
}  // namespace zrelay::broker
