// What the zrelay command sends and prints: items and broadcasts from arguments and stdin lines,
// in order, byte for byte, and an item acknowledged only once its line was written.
#include <csignal>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/cli/cli_fixture.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using CliTransfer = testing::CliFixture;

TEST_F(CliTransfer, ProducedArgumentsAndStdinLinesAreConsumedInOrder) {
  const auto from_args = zrelay({"produce", "work", "one", "two"});
  ASSERT_EQ(from_args.status, 0) << from_args.output;
  EXPECT_EQ(from_args.output, "");
  const auto from_stdin = zrelay({"produce", "work"}, "three\nfour\r\n\nfive");
  ASSERT_EQ(from_stdin.status, 0) << from_stdin.output;

  const auto consumed = zrelay({"consume", "work", "-n", "6"});
  EXPECT_EQ(consumed.status, 0);
  EXPECT_EQ(consumed.output, "one\ntwo\nthree\nfour\n\nfive\n") << "CRLF and LF end a line; an empty line is an item";
}

TEST_F(CliTransfer, ConsumeTakesExactlyNAndLeavesTheRestForTheNextConsumer) {
  ASSERT_EQ(zrelay({"produce", "work", "1", "2", "3", "4", "5", "6"}).status, 0);
  EXPECT_EQ(zrelay({"consume", "work"}).output, "1\n");
  EXPECT_EQ(zrelay({"consume", "work", "-n", "2"}).output, "2\n3\n");
  EXPECT_EQ(zrelay({"consume", "work", "--count", "3"}).output, "4\n5\n6\n");

  EndpointOptions options;
  options.broker = address;
  options.broker_public_key = broker_key;
  options.certificate_file = state / "client";
  options.groups = {"work"};
  Endpoint check(options);
  check.notify("work", -1);  // every item still queued
  check.sync();
  EXPECT_TRUE(check.pop(10).empty()) << "each consumer acknowledged exactly what it printed";
}

TEST_F(CliTransfer, ProduceCopiesAndConsumeIgnoresTheGroupsBroadcasts) {
  ASSERT_EQ(zrelay({"broadcast", "work", "not an item"}).status, 0);
  ASSERT_EQ(zrelay({"produce", "--copies", "3", "work", "job"}).status, 0);
  EXPECT_EQ(zrelay({"consume", "work", "-n", "3"}).output, "job\njob\njob\n");
}

TEST_F(CliTransfer, ListenGetsTheLastValueBroadcastBeforeIt) {
  ASSERT_EQ(zrelay({"broadcast", "news", "v1", "v2", "v3"}).status, 0);
  const auto listened = zrelay({"listen", "-n", "1", "news"});
  EXPECT_EQ(listened.status, 0);
  EXPECT_EQ(listened.output, "v3\n");

  ASSERT_EQ(zrelay({"broadcast", "news"}, "w1\nw2\n").status, 0);
  EXPECT_EQ(zrelay({"listen", "-n", "1", "news"}).output, "w2\n");
}

TEST_F(CliTransfer, ListenStartedFirstPrintsALaterBroadcast) {
  ASSERT_EQ(zrelay({"broadcast", "a", "joined"}).status, 0);
  auto listener = start({"listen", "--group-prefix", "-n", "2", "a", "b"});
  // Group a's last value comes once the listener joined both groups.
  ASSERT_TRUE(listener->wait_for("a\tjoined", 20s).has_value()) << listener->output();
  ASSERT_EQ(zrelay({"broadcast", "b", "later"}).status, 0);
  EXPECT_TRUE(listener->wait_for("b\tlater", 20s).has_value()) << listener->output();
  EXPECT_EQ(listener->wait(20s), std::optional<int>(0));
}

TEST_F(CliTransfer, ListenStopsCleanlyOnSigintAndSigterm) {
  ASSERT_EQ(zrelay({"broadcast", "news", "hello"}).status, 0);
  for (const int signal : {SIGINT, SIGTERM}) {
    auto listener = start({"listen", "news"});
    ASSERT_TRUE(listener->wait_for("hello", 20s).has_value()) << listener->output();
    listener->signal(signal);
    EXPECT_EQ(listener->wait(20s), std::optional<int>(0)) << listener->output();
  }
}

TEST_F(CliTransfer, ConsumeForeverKeepsAskingForItemsUntilSigterm) {
  std::vector<std::string> produce{"produce", "work"};
  for (int i = 0; i < 40; ++i) produce.push_back("item-" + std::to_string(i));  // more than one credit window
  ASSERT_EQ(zrelay(produce).status, 0);
  auto consumer = start({"consume", "--forever", "work"});
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(consumer->read_line(20s), std::optional<std::string>("item-" + std::to_string(i))) << consumer->output();
  }
  ASSERT_EQ(zrelay({"produce", "work", "later"}).status, 0);
  EXPECT_EQ(consumer->read_line(20s), std::optional<std::string>("later"));
  consumer->signal(SIGTERM);
  EXPECT_EQ(consumer->wait(20s), std::optional<int>(0)) << consumer->output();
}

TEST_F(CliTransfer, RawBytesWithTabsAndUtf8Survive) {
  const std::string items = std::string("tab\there\n") + "ünïcödé ✓ 日本\n" + "\x01\x7f\xfe\xff\n" +
                            std::string("nul\0inside\n", 11);
  ASSERT_EQ(zrelay({"produce", "work"}, items).status, 0);
  EXPECT_EQ(zrelay({"consume", "work", "-n", "4"}).output, items);

  ASSERT_EQ(zrelay({"broadcast", "grüße", "a\tb c"}).status, 0);
  EXPECT_EQ(zrelay({"listen", "--group-prefix", "-n", "1", "grüße"}).output, "grüße\ta\tb c\n");
}

TEST_F(CliTransfer, AnItemThatCouldNotBeWrittenGoesBackToTheQueue) {
  ASSERT_EQ(zrelay({"produce", "work", "keep-me"}).status, 0);
  // stdout on /dev/full: every write fails, as into a pipe whose reader is gone.
  const auto failed = testing::run({"/bin/sh", "-c", "exec \"$0\" \"$@\" >/dev/full", ZRELAY_CLI_PATH, "consume", "work"},
                                   environment(), std::string());
  EXPECT_EQ(failed.status, 74);
  EXPECT_NE(failed.output.find("cannot write to stdout"), std::string::npos) << failed.output;
  EXPECT_EQ(zrelay({"consume", "work"}).output, "keep-me\n");
}

}  // namespace
}  // namespace zrelay
