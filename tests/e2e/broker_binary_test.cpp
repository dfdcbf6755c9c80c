// The real zrelay-broker program, with keys made by the real zrelay-keygen.
#include <csignal>
#include <filesystem>
#include <atomic>
#include <thread>

#include <boost/serialization/string.hpp>
#include <gtest/gtest.h>
#include <zrelay/endpoint.hpp>

#include "tests/support/file_mode.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Process;
using testing::TempDir;
using testing::mode_of;

struct RunningBroker {
  std::unique_ptr<Process> process;
  std::string endpoint;
  std::string public_key;
};

RunningBroker start_broker(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), {ZRELAY_BROKER_PATH, "--bind", "tcp://127.0.0.1:*"});
  RunningBroker broker{std::make_unique<Process>(args, env), {}, {}};
  broker.public_key = broker.process->wait_for("broker public key: ", 20s).value_or("");
  broker.endpoint = broker.process->wait_for("listening on ", 20s).value_or("");
  return broker;
}

EndpointOptions options(const RunningBroker& broker, const fs::path& cert, std::vector<std::string> groups) {
  EndpointOptions o;
  o.broker = broker.endpoint;
  o.broker_public_key = broker.public_key;
  o.certificate_file = cert;
  o.groups = std::move(groups);
  return o;
}

TEST(BrokerBinary, EmbeddedDefaultsGenerateKeysAndAuthenticateClients) {
  TempDir dir;
  const auto state = dir / "state";
  auto broker = start_broker({}, {"ZRELAY_STATE_DIR=" + state.string()});
  ASSERT_FALSE(broker.endpoint.empty()) << broker.process->output();
  EXPECT_EQ(broker.endpoint.rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_EQ(broker.public_key.size(), 40u);
  EXPECT_EQ(mode_of(state / "broker_secret"), 0600u);
  EXPECT_EQ(mode_of(state / "client_secret"), 0600u);
  EXPECT_TRUE(fs::exists(state / "authorized_keys" / "client"));
  EXPECT_EQ(Certificate::load(state / "broker").public_key(), broker.public_key);

  // tlspyo's quick start against the real program.
  Endpoint prod(options(broker, state / "client", {"producers"}));
  Endpoint cons(options(broker, state / "client", {"consumers"}));
  prod.broadcast(std::string("I HAVE BEEN BROADCAST"), "consumers");
  prod.produce(std::string("I HAVE BEEN PRODUCED"), "consumers");
  cons.notify("consumers");
  std::vector<Message> got;
  while (got.size() < 2) {
    for (auto& m : cons.receive_all(10s)) got.push_back(std::move(m));
  }
  EXPECT_EQ(got[0].as<std::string>(), "I HAVE BEEN BROADCAST");
  EXPECT_EQ(got[1].as<std::string>(), "I HAVE BEEN PRODUCED");
  prod.stop();
  cons.stop();

  broker.process->signal(SIGTERM);
  EXPECT_EQ(broker.process->wait(10s), std::optional<int>(0));
}

TEST(BrokerBinary, KeepsItsKeyAcrossRestarts) {
  TempDir dir;
  const std::vector<std::string> env = {"ZRELAY_STATE_DIR=" + (dir / "state").string()};
  std::string first;
  {
    auto broker = start_broker({}, env);
    first = broker.public_key;
    broker.process->signal(SIGINT);
    EXPECT_EQ(broker.process->wait(10s), std::optional<int>(0));
  }
  auto again = start_broker({}, env);
  EXPECT_EQ(again.public_key, first);
  EXPECT_EQ(again.process->output().find("generated a client key pair"), std::string::npos);
}

TEST(BrokerBinary, KeygenKeysAndAnAuthorizedKeysDirectory) {
  TempDir dir;
  const auto keys = dir / "keys";
  const auto authorized = dir / "authorized";
  fs::create_directories(authorized);
  for (const char* name : {"broker", "alice", "mallory"}) {
    const auto result = testing::run({ZRELAY_KEYGEN_PATH, name, "--dir", keys.string()});
    ASSERT_EQ(result.status, 0) << result.output;
  }
  fs::copy_file(keys / "alice", authorized / "alice");
  auto broker = start_broker({"--cert", (keys / "broker").string(), "--authorized-keys", authorized.string(),
                              "--group", "jobs:0:100"});
  ASSERT_FALSE(broker.endpoint.empty()) << broker.process->output();
  EXPECT_EQ(broker.public_key, Certificate::load(keys / "broker").public_key());

  auto alice = options(broker, keys / "alice", {"jobs"});
  alice.broker_public_key.clear();
  alice.broker_certificate = keys / "broker";  // the public certificate file is enough
  Endpoint endpoint(alice);
  endpoint.produce(std::string("job"), "jobs");
  endpoint.notify("jobs");
  EXPECT_EQ(endpoint.pop(1, 10s).at(0).as<std::string>(), "job");

  try {
    Endpoint intruder(options(broker, keys / "mallory", {"jobs"}));
    FAIL() << "mallory is not in the authorized keys";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_authorized);
  }
  try {
    Endpoint lost(options(broker, keys / "alice", {"elsewhere"}));
    FAIL() << "only the group 'jobs' is accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unknown_group);
  }
}

TEST(BrokerBinary, RefusesASecretFileOthersCanRead) {
  TempDir dir;
  ASSERT_EQ(testing::run({ZRELAY_KEYGEN_PATH, "broker", "--dir", dir.path().string()}).status, 0);
  fs::permissions(dir / "broker_secret", fs::perms::others_read | fs::perms::group_read, fs::perm_options::add);
  Process broker({ZRELAY_BROKER_PATH, "--cert", (dir / "broker").string(), "--authorized-keys", dir.path().string()});
  EXPECT_EQ(broker.wait(20s), std::optional<int>(78));
  while (broker.read_line(1s)) {
  }
  EXPECT_NE(broker.output().find("broker_secret"), std::string::npos) << broker.output();
}

TEST(BrokerBinary, UsageErrorsAndHelp) {
  const auto bad = testing::run({ZRELAY_BROKER_PATH, "--no-such-option"});
  EXPECT_EQ(bad.status, 64);
  const auto help = testing::run({ZRELAY_BROKER_PATH, "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("tcp://127.0.0.1:5555"), std::string::npos) << "localhost is the default bind";
  const auto group = testing::run({ZRELAY_BROKER_PATH, "--group", "x:notanumber"});
  EXPECT_EQ(group.status, 78);
}

TEST(BrokerBinary, StopIsBoundedWhileTheBrokerIsFrozen) {
  TempDir dir;
  const auto state = dir / "state";
  auto broker = start_broker({}, {"ZRELAY_STATE_DIR=" + state.string()});
  ASSERT_FALSE(broker.endpoint.empty()) << broker.process->output();
  auto o = options(broker, state / "client", {});
  o.stop_timeout = 1s;
  Endpoint producer(o);
  broker.process->signal(SIGSTOP);
  // A producer that fills every buffer and then blocks on back-pressure.
  std::atomic<bool> producer_done{false};
  std::atomic<int> produced{0};
  std::thread flood([&] {
    try {
      const std::string chunk(64 * 1024, 'x');
      for (; produced < 100000; ++produced) producer.produce_raw(chunk, "work");
    } catch (const Error&) {  // expected once stop() gives up: closed or timeout
    }
    producer_done = true;
  });
  for (const auto until = std::chrono::steady_clock::now() + 10s; produced < 200 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::yield();  // until the flood is under way
  }
  const auto started = std::chrono::steady_clock::now();
  try {
    producer.stop();
    FAIL() << "a frozen broker cannot confirm: stop() must say so";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::timeout);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  flood.join();
  EXPECT_TRUE(producer_done);
  broker.process->signal(SIGCONT);
}

}  // namespace
}  // namespace zrelay
