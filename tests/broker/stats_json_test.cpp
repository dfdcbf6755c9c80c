// The statistics JSON is valid UTF-8 whatever bytes group and client names hold.
#include "broker/stats_json.hpp"

#include <string>

#include <gtest/gtest.h>

namespace zrelay::broker {
namespace {

std::string json_with_group(const std::string& name) {
  BrokerStatistics stats;
  GroupStatistics group;
  group.name = name;
  stats.groups.push_back(group);
  return to_json(stats);
}

std::string quoted_name(const std::string& json) {
  const std::string key = "\"name\":";
  const auto at = json.find(key);
  if (at == std::string::npos) return {};
  const auto end = json.find(",\"", at);
  return json.substr(at + key.size(), end - at - key.size());
}

TEST(StatsJson, ValidUtf8PassesThrough) {
  EXPECT_EQ(quoted_name(json_with_group("samples.secret\xC3\x89")), "\"samples.secret\xC3\x89\"");
  EXPECT_EQ(quoted_name(json_with_group("\xF0\x9F\x98\x80")), "\"\xF0\x9F\x98\x80\"");
}

TEST(StatsJson, ControlCharactersQuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(quoted_name(json_with_group(std::string("a\"b\\c\x01\x7F", 7))), "\"a\\\"b\\\\c\\u0001\\u007f\"");
}

TEST(StatsJson, BytesThatAreNotUtf8BecomeSurrogateEscapes) {
  EXPECT_EQ(quoted_name(json_with_group("g\xFF")), "\"g\\udcff\"");
  EXPECT_EQ(quoted_name(json_with_group("\xC3")), "\"\\udcc3\"") << "a lead byte without its continuation";
  EXPECT_EQ(quoted_name(json_with_group("\xC0\xAF")), "\"\\udcc0\\udcaf\"") << "an overlong form";
  EXPECT_EQ(quoted_name(json_with_group("\xED\xA0\x80")), "\"\\udced\\udca0\\udc80\"") << "a UTF-16 surrogate";
  EXPECT_EQ(quoted_name(json_with_group("\xF4\x90\x80\x80")), "\"\\udcf4\\udc90\\udc80\\udc80\"") << "above U+10FFFF";
}

}  // namespace
}  // namespace zrelay::broker
