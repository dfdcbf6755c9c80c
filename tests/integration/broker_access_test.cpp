// Authorization rules, statistics and key reload through a real broker and real endpoints.
#include <fstream>

#include "tests/support/relay_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

Actions bits(std::initializer_list<Action> actions) {
  Actions out = 0;
  for (const Action a : actions) out = static_cast<Actions>(out | static_cast<Actions>(a));
  return out;
}

Certificate named(const std::string& name) {
  Certificate cert = Certificate::generate();
  cert.set_meta("name", name);
  return cert;
}

class BrokerAccess : public testing::RelayFixture {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir / "keys");
    for (const Certificate& cert : {trainer, worker, ops}) cert.save_public(dir / "keys" / cert.name());
    options.bind = "tcp://127.0.0.1:*";
    options.certificate = broker_key;
    options.authorized_keys_dir = dir / "keys";
    options.access_rules = {AccessRule{{"trainer"}, {"weights"}, bits({Action::broadcast}), 0},
                            AccessRule{{"*"}, {"weights"}, bits({Action::join}), 0},
                            AccessRule{{"*"}, {"samples"}, bits({Action::join, Action::produce, Action::consume}), 0},
                            AccessRule{{"ops"}, {}, bits({Action::stats}), 0}};
    broker = std::make_unique<Broker>(options);
  }

  [[nodiscard]] std::unique_ptr<Endpoint> as(const Certificate& who, std::vector<std::string> groups = {}) const {
    return std::make_unique<Endpoint>(options_for(std::move(groups), who));
  }

  testing::TempDir dir;
  Certificate trainer = named("trainer");
  Certificate worker = named("worker");
  Certificate ops = named("ops");
  BrokerOptions options;
};

TEST_F(BrokerAccess, DeniedActionsAreRefusedWithTheirSeqAndAllowedOnesGoThrough) {
  auto listener = as(worker, {"weights"});
  auto boss = as(trainer);
  const std::uint64_t fake = listener->broadcast_raw("fake", "weights");
  listener->sync();
  const auto refusals = listener->take_refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].code, ErrorCode::not_authorized);
  EXPECT_EQ(refusals[0].seq, fake);
  (void)boss->broadcast_raw("w1", "weights");
  const auto got = receive(*listener, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text(), "w1");
}

TEST_F(BrokerAccess, AJoinTheRulesDoNotAllowFailsTheEndpoint) {
  try {
    auto endpoint = as(worker, {"secret"});
    FAIL() << "joined a group the rules do not allow";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_authorized) << e.what();
  }
}

TEST_F(BrokerAccess, StatisticsGoToTheStatsRightOnly) {
  auto consumer = as(worker, {"samples"});
  consumer->notify("samples", 3);
  (void)consumer->produce_raw("item", "samples");
  (void)receive(*consumer, 1);
  consumer->sync();
  auto admin = as(ops);
  const std::string json = admin->broker_statistics();
  EXPECT_NE(json.find("\"name\":\"samples\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"credits\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"name\":\"worker\""), std::string::npos) << json;
  try {
    (void)consumer->broker_statistics();
    FAIL() << "a worker read the statistics";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_authorized);
  }
  consumer->sync();  // the endpoint still works after the refusal
}

TEST_F(BrokerAccess, ReloadWithoutAKeyEndsItsLiveSessionAndRefusesItFromThenOn) {
  auto consumer = as(worker, {"samples"});
  auto producer = as(trainer);
  std::filesystem::remove(dir / "keys" / "worker");
  broker->reload(options);
  EXPECT_TRUE(consumer->wait_for_connection_state(ConnectionState::failed, 10s));
  try {
    (void)consumer->produce_raw("x", "samples");
    FAIL() << "a revoked endpoint could still send";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_authorized) << e.what();
  }
  try {
    auto again = as(worker);
    FAIL() << "a removed key opened a new session";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_authorized) << e.what();
  }
  producer->sync();  // the others are not disturbed
  EXPECT_EQ(broker->stats().revoked_clients, 1u);
}

TEST_F(BrokerAccess, NewRulesApplyToLiveSessions) {
  auto listener = as(worker, {"samples"});
  auto boss = as(trainer);
  options.access_rules.push_back(AccessRule{{"worker"}, {"samples"}, 0, bits({Action::produce})});
  broker->reload(options);
  const std::uint64_t seq = listener->produce_raw("x", "samples");
  listener->sync();
  const auto refusals = listener->take_refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].seq, seq);
  EXPECT_EQ(refusals[0].code, ErrorCode::not_authorized);
  (void)boss->produce_raw("y", "samples");
  boss->sync();
}

TEST_F(BrokerAccess, AFailedReloadKeepsTheKeysAndRulesInForce) {
  auto consumer = as(worker, {"samples"});
  std::ofstream(dir / "keys" / "broken") << "not a certificate\n";
  EXPECT_THROW(broker->reload(options), Error);
  std::filesystem::remove(dir / "keys" / "broken");
  BrokerOptions bad_rules = options;
  bad_rules.access_rules.push_back(AccessRule{{}, {"*"}, bits({Action::join}), 0});
  EXPECT_THROW(broker->reload(bad_rules), Error);
  consumer->notify("samples");
  (void)consumer->produce_raw("still here", "samples");
  const auto got = receive(*consumer, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].text(), "still here");
  auto again = as(worker);  // the key is still allowed
}

}  // namespace
}  // namespace zrelay
