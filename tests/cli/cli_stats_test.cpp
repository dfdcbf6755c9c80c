// `zrelay stats` against the real broker: JSON for a client with the stats right, EX_NOPERM for others.
#include "tests/cli/cli_fixture.hpp"

namespace zrelay::testing {
namespace {

class CliStats : public CliFixture {};

class CliStatsAsAdmin : public CliFixture {
 protected:
  CliStatsAsAdmin() { broker_options = {"--admin", "client"}; }  // the state directory's client key
};

TEST_F(CliStats, WithoutTheStatsRightItIsRefused) {
  const auto result = zrelay({"stats"});
  EXPECT_EQ(result.status, 77) << result.output;
  EXPECT_NE(result.output.find("statistics"), std::string::npos) << result.output;
}

TEST_F(CliStatsAsAdmin, PrintsGroupsAndSessionsAsJson) {
  ASSERT_EQ(zrelay({"produce", "work", "a", "b"}).status, 0);
  const auto result = zrelay({"stats"});
  ASSERT_EQ(result.status, 0) << result.output;
  EXPECT_EQ(result.output.front(), '{') << result.output;
  EXPECT_NE(result.output.find("\"name\":\"work\""), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\"queued\":2"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("\"hello_name\":\"zrelay stats\""), std::string::npos) << result.output;
}

}  // namespace
}  // namespace zrelay::testing
