// The broker's TOML config file: what it sets, and errors that name the line.
#include "broker/config_file.hpp"

#include <fstream>

#include <gtest/gtest.h>
#include <zrelay/error.hpp>

#include "tests/support/temp_dir.hpp"

namespace zrelay::broker {
namespace {

class ConfigFile : public ::testing::Test {
 protected:
  BrokerConfig read(const std::string& text) {
    std::ofstream(dir / "broker.toml") << text;
    BrokerConfig config;
    read_config_file(dir / "broker.toml", config);
    return config;
  }
  // The error message for `text`, or "" if it was accepted.
  std::string error_of(const std::string& text) {
    try {
      (void)read(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::configuration);
      return e.what();
    }
    return "";
  }

  testing::TempDir dir;
};

TEST_F(ConfigFile, TheShippedExampleIsValid) {
  BrokerConfig config;
  read_config_file(ZRELAY_SOURCE_DIR "/examples/broker.toml", config);
  EXPECT_EQ(config.options.bind, "tcp://127.0.0.1:5555");
  EXPECT_EQ(config.options.limits.max_message_size, 256ull << 20);
  ASSERT_EQ(config.options.limits.accepted_groups.size(), 2u);
  EXPECT_EQ(config.options.limits.accepted_groups[1].overflow, Overflow::drop_oldest);
  EXPECT_TRUE(config.options.limits.accepted_groups[1].durable);
  EXPECT_FALSE(config.options.limits.accepted_groups[0].durable);
  EXPECT_EQ(config.options.limits.max_store_bytes, 64ull << 30);
  EXPECT_EQ(config.options.access_rules.size(), 3u);
  EXPECT_EQ(config.options.access_default, AccessDefault::deny);
  EXPECT_EQ(config.admins, std::vector<std::string>{"ops"});
}

TEST_F(ConfigFile, DurableGroupsTheirDirectoryAndTheStoreBound) {
  const auto config = read(R"(
[broker]
data_dir = "/var/lib/zrelay/store"
durable = ["jobs*", "state"]
[limits]
max_store_bytes = "2 GiB"
[[groups]]
name = "samples"
durable = true
)");
  EXPECT_EQ(config.data_dir, "/var/lib/zrelay/store");
  EXPECT_EQ(config.options.limits.durable_groups, (std::vector<std::string>{"jobs*", "state"}));
  EXPECT_EQ(config.options.limits.max_store_bytes, 2ull << 30);
  ASSERT_EQ(config.options.limits.accepted_groups.size(), 1u);
  EXPECT_TRUE(config.options.limits.accepted_groups[0].durable);
}

TEST_F(ConfigFile, DurableMustBeABoolean) {
  EXPECT_NE(error_of("[[groups]]\nname = \"a\"\ndurable = \"yes\"\n").find("groups.durable must be true or false"),
            std::string::npos);
}

TEST_F(ConfigFile, SetsWhatItNamesAndLeavesTheRest) {
  const auto config = read(R"(
[broker]
listen = ["tcp://127.0.0.1:7000", "tcp://127.0.0.1:7001"]
authorized_keys = "/etc/zrelay/keys"
[limits]
heartbeat_ms = 500
liveness_ms = 2000
max_payload_bytes = 1048576
max_client_pending_bytes = "512 KiB"
max_client_unacked = 250
[log]
level = "debug"
[[authorization.rules]]
clients = ["key:rq7gZzD#wk2)YtPx/[lv4Ba%#kcvQbJn7c(GcbqD"]
allow = "all"
deny = ["broadcast"]
)");
  EXPECT_EQ(config.options.bind, "tcp://127.0.0.1:7000");
  EXPECT_EQ(config.options.also_bind, std::vector<std::string>{"tcp://127.0.0.1:7001"});
  EXPECT_EQ(config.authorized_keys, "/etc/zrelay/keys");
  EXPECT_EQ(config.options.limits.heartbeat.count(), 500);
  EXPECT_EQ(config.options.limits.liveness.count(), 2000);
  EXPECT_EQ(config.options.limits.max_payload_bytes, 1048576u);
  EXPECT_EQ(config.options.limits.max_client_pending_bytes, 512u * 1024);
  EXPECT_EQ(config.options.limits.max_client_unacked, 250u);
  EXPECT_EQ(config.options.limits.max_message_size, BrokerLimits{}.max_message_size) << "not named: unchanged";
  EXPECT_EQ(config.log_level, "debug");
  ASSERT_EQ(config.options.access_rules.size(), 1u);
  EXPECT_EQ(config.options.access_rules[0].groups, std::vector<std::string>{"*"}) << "all groups when not named";
  EXPECT_EQ(config.options.access_rules[0].deny, static_cast<Actions>(Action::broadcast));
}

TEST_F(ConfigFile, ErrorsNameTheFileLineAndWhat) {
  const std::string syntax = error_of("[broker]\nlisten = [\"tcp://x:1\"\n");
  EXPECT_NE(syntax.find("broker.toml:"), std::string::npos) << syntax;
  EXPECT_NE(error_of("[broker]\nio_threads = 2\nlisen = \"tcp://x:1\"\n").find("broker.toml:3:1: unknown key 'lisen' in [broker]"),
            std::string::npos);
  EXPECT_NE(error_of("\n[limits]\nheartbeat_ms = \"fast\"\n").find(":3:16: limits.heartbeat_ms must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of("[limits]\nmax_payload_bytes = \"3 PB\"\n").find(":2:21: limits.max_payload_bytes: unknown unit 'PB'"),
            std::string::npos);
  EXPECT_NE(error_of("[limits]\nheartbeat_ms = 1000\nliveness_ms = 900\n").find(":3:15: limits.liveness_ms must be longer"),
            std::string::npos);
  EXPECT_NE(error_of("[[groups]]\nname = \"a\"\noverflow = \"drop-newest\"\n").find(":3:12: overflow must be"),
            std::string::npos);
  EXPECT_NE(error_of("[[groups]]\nname = \"a\"\n[[groups]]\nname = \"a\"\n").find(":4:8: group name 'a' is empty or given twice"),
            std::string::npos);
  EXPECT_NE(error_of("[[authorization.rules]]\nclients = [\"*\"]\nallow = [\"admin\"]\n").find(":3:9: unknown action 'admin'"),
            std::string::npos);
  EXPECT_NE(error_of("[[authorization.rules]]\nclients = [\"key:short\"]\nallow = [\"join\"]\n").find(":2:11: authorization rule: client 'key:short'"),
            std::string::npos);
  EXPECT_NE(error_of("[log]\nlevel = \"loud\"\n").find(":2:9: log.level must be one of"), std::string::npos);
  EXPECT_NE(error_of("broker = 3\n").find(":1:10: broker must be a table"), std::string::npos);
  EXPECT_NE(error_of("[limits]\nmax_groups = -1\n").find(":2:14: limits.max_groups must be between 1 and"),
            std::string::npos);
}

TEST_F(ConfigFile, AMissingFileIsAConfigurationError) {
  BrokerConfig config;
  try {
    read_config_file(dir / "nope.toml", config);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::configuration);
    EXPECT_NE(std::string(e.what()).find("nope.toml"), std::string::npos);
  }
}

}  // namespace
}  // namespace zrelay::broker
