// zrelay-broker with a config file: command-line options over the file, config errors with their
// line, and SIGHUP reloading keys and rules on live connections.
#include <sys/stat.h>

#include <csignal>
#include <fstream>

#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/named_certificate.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;
using testing::Process;

class BrokerReload : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir / "keys");
    broker_cert.save(dir / "broker");
    for (const Certificate* cert : {&worker, &trainer}) cert->save_public(dir / "keys" / cert->name());
    write_config("");
  }

  void write_config(const std::string& extra) {
    std::ofstream(dir / "broker.toml") << "[broker]\n"
                                       << "listen = \"tcp://127.0.0.1:1\"  # the command line overrides it\n"
                                       << "certificate = \"" << (dir / "broker").string() << "\"\n"
                                       << "authorized_keys = \"" << (dir / "keys").string() << "\"\n"
                                       << "[[authorization.rules]]\n"
                                       << "clients = [\"*\"]\n"
                                       << "groups = [\"samples\"]\n"
                                       << "allow = [\"all\"]\n"
                                       << extra;
  }

  void start() {
    broker = std::make_unique<Process>(std::vector<std::string>{ZRELAY_BROKER_PATH, "--config",
                                                                (dir / "broker.toml").string(), "--bind",
                                                                "tcp://127.0.0.1:*"});
    address = broker->wait_for("listening on ", 20s).value_or("");
    ASSERT_FALSE(address.empty()) << broker->output();
  }

  [[nodiscard]] Endpoint as(const Certificate& who) const {
    EndpointOptions o;
    o.broker = address;
    o.broker_public_key = broker_cert.public_key();
    o.certificate = who;
    o.groups = {"samples"};
    return Endpoint(o);
  }

  testing::TempDir dir;
  Certificate broker_cert = Certificate::generate();
  Certificate worker = testing::named_certificate("worker");
  Certificate trainer = testing::named_certificate("trainer");
  std::unique_ptr<Process> broker;
  std::string address;
};

TEST_F(BrokerReload, SighupWithoutAKeyEndsItsLiveSessionAndTheOthersCarryOn) {
  start();
  Endpoint consumer = as(worker);
  Endpoint producer = as(trainer);
  std::filesystem::remove(dir / "keys" / "worker");
  broker->signal(SIGHUP);
  ASSERT_TRUE(broker->wait_for_text("reloaded: 1 authorized key(s)", 10s)) << broker->output();
  EXPECT_TRUE(consumer.wait_for_connection_state(ConnectionState::failed, 10s));
  EXPECT_THROW((void)consumer.produce_raw("x", "samples"), Error);
  EXPECT_NE(broker->output().find("client 'worker'"), std::string::npos) << "the log names the key";
  producer.notify("samples");
  (void)producer.produce_raw("item", "samples");
  EXPECT_EQ(producer.pop(1, 10s).size(), 1u);
  producer.stop();
  consumer.stop();  // already failed: nothing to wait for
  broker->signal(SIGTERM);
  EXPECT_EQ(broker->wait(10s), std::optional<int>(0));
}

TEST_F(BrokerReload, ABrokenConfigOnSighupIsReportedAndChangesNothing) {
  start();
  Endpoint consumer = as(worker);
  std::ofstream(dir / "broker.toml") << "[broker]\nlisten = [\n";
  broker->signal(SIGHUP);
  const auto line = broker->wait_for_text("reload failed", 10s);
  ASSERT_TRUE(line) << broker->output();
  EXPECT_NE(line->find("broker.toml:2:"), std::string::npos) << *line;
  consumer.notify("samples");
  (void)consumer.produce_raw("still", "samples");
  EXPECT_EQ(consumer.pop(1, 10s).size(), 1u);
}

TEST_F(BrokerReload, ChangesThatNeedARestartAreReportedNotApplied) {
  start();
  write_config("[limits]\nheartbeat_ms = 400\n");
  broker->signal(SIGHUP);
  EXPECT_TRUE(broker->wait_for_text("take effect after a restart", 10s)) << broker->output();
}

TEST_F(BrokerReload, ConfigErrorsAtStartExit78WithTheLine) {
  write_config("[limits]\nmax_groups = \"many\"\n");
  const auto result = testing::run({ZRELAY_BROKER_PATH, "--config", (dir / "broker.toml").string()});
  EXPECT_EQ(result.status, 78) << result.output;
  EXPECT_NE(result.output.find("broker.toml:10:14: limits.max_groups must be an integer"), std::string::npos)
      << result.output;
}

// A FIFO among the authorized keys would block open() until a writer came: it is refused unopened.
TEST_F(BrokerReload, AFifoInAuthorizedKeysFailsTheStartWith78) {
  ASSERT_EQ(::mkfifo((dir / "keys" / "fifo").c_str(), 0600), 0);
  const auto result = testing::run({ZRELAY_BROKER_PATH, "--config", (dir / "broker.toml").string()});
  EXPECT_EQ(result.status, 78) << result.output;
  EXPECT_NE(result.output.find("not a regular file"), std::string::npos) << result.output;
}

TEST_F(BrokerReload, AFifoAddedBeforeSighupChangesNothingAndSigtermStillStops) {
  start();
  Endpoint consumer = as(worker);
  ASSERT_EQ(::mkfifo((dir / "keys" / "fifo").c_str(), 0600), 0);
  broker->signal(SIGHUP);
  const auto line = broker->wait_for_text("reload failed", 10s);
  ASSERT_TRUE(line) << broker->output();
  EXPECT_NE(line->find("not a regular file"), std::string::npos) << *line;
  consumer.notify("samples");
  (void)consumer.produce_raw("still", "samples");
  EXPECT_EQ(consumer.pop(1, 10s).size(), 1u);
  broker->signal(SIGTERM);
  EXPECT_EQ(broker->wait(10s), std::optional<int>(0));
}

// Rules name clients: two keys under one name are refused at start, never matched both.
TEST_F(BrokerReload, TwoKeysWithOneNameFailTheStartWith78) {
  testing::named_certificate("worker").save_public(dir / "keys" / "impostor");
  const auto result = testing::run({ZRELAY_BROKER_PATH, "--config", (dir / "broker.toml").string()});
  EXPECT_EQ(result.status, 78) << result.output;
  EXPECT_NE(result.output.find("named 'worker'"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace zrelay
