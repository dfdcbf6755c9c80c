// Per-group authorization and key revocation in the broker's logic: every message is checked
// against the keys and rules in force when it arrives.
#include <map>

#include "tests/broker/core_fixture.hpp"

namespace zrelay::broker {
namespace {

Actions bits(std::initializer_list<Action> actions) {
  Actions out = 0;
  for (const Action a : actions) out = static_cast<Actions>(out | static_cast<Actions>(a));
  return out;
}

class Authorization : public BrokerCoreTest {
 protected:
  void SetUp() override {
    BrokerCoreTest::SetUp();
    for (const char* name : {"trainer", "worker", "ops"}) {
      Certificate cert = Certificate::generate();
      cert.set_meta("name", name);
      certs[name] = cert;
    }
    user_id_of = [this](const ClientId& client) { return certs.count(client) ? certs.at(client).public_key() : "unknown"; };
    apply({"trainer", "worker", "ops"}, rules());
  }

  // The trainer broadcasts weights; everyone may join weights; workers produce and consume samples.
  static std::vector<AccessRule> rules() {
    return {AccessRule{{"trainer"}, {"weights"}, bits({Action::broadcast}), 0},
            AccessRule{{"*"}, {"weights"}, bits({Action::join}), 0},
            AccessRule{{"worker", "trainer"}, {"samples"}, bits({Action::join, Action::produce, Action::consume}), 0},
            AccessRule{{"ops"}, {"*"}, bits({Action::stats}), 0}};
  }

  std::vector<Outgoing> apply(std::initializer_list<const char*> allowed, std::vector<AccessRule> with) {
    auto keys = std::make_shared<auth::AllowList>();
    for (const char* name : allowed) keys->add(certs.at(name));
    core->set_access(std::move(keys), auth::AccessPolicy(std::move(with), AccessDefault::automatic));
    return core->take_outbox();
  }

  static const ErrorReply* refusal(const std::vector<Outgoing>& out, ErrorCode code) {
    const ErrorReply* e = error_in(out);
    return e != nullptr && e->code == code ? e : nullptr;
  }

  std::map<std::string, Certificate> certs;
};

TEST_F(Authorization, AnUnknownKeyIsRefusedWhateverItSends) {
  auto out = send("stranger", Hello{"x"});
  ASSERT_NE(refusal(out, ErrorCode::not_authorized), nullptr);
  EXPECT_EQ(core->client_count(), 0u);
  EXPECT_NE(refusal(send("stranger", Join{"weights"}), ErrorCode::not_authorized), nullptr) << "not hello_expected";
}

TEST_F(Authorization, AllowedActionsPassAndOthersGetNotAuthorizedWithTheirSeq) {
  hello("trainer");
  hello("worker");
  join("worker", "weights");
  EXPECT_TRUE(error_in(send("trainer", Broadcast{1, "weights", bytes("w1")})) == nullptr);
  const auto out = send("worker", Broadcast{7, "weights", bytes("fake")});
  const ErrorReply* e = refusal(out, ErrorCode::not_authorized);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->seq, 7u);
  EXPECT_EQ(e->group, "weights");
  EXPECT_EQ(core->group("weights")->stats.broadcasts, 1u) << "the refused broadcast changed nothing";
  EXPECT_NE(refusal(send("worker", Join{"secret"}), ErrorCode::not_authorized), nullptr);
  EXPECT_EQ(core->group("secret"), nullptr) << "a refused join creates no group";
  EXPECT_NE(refusal(send("worker", Ready{"weights", 1}), ErrorCode::not_authorized), nullptr) << "no consume right";
  EXPECT_NE(refusal(send("worker", Produce{9, "weights", 1, bytes("x")}), ErrorCode::not_authorized), nullptr);
}

TEST_F(Authorization, StatsNeedsTheStatsRight) {
  hello("worker");
  hello("ops");
  const auto refused = send("worker", Stats{3});
  ASSERT_NE(refusal(refused, ErrorCode::not_authorized), nullptr);
  EXPECT_EQ(error_in(refused)->seq, 3u);
  const auto out = send("ops", Stats{4});
  ASSERT_EQ(out.size(), 1u);
  const auto* reply = std::get_if<StatsReply>(&out[0].message);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->seq, 4u);
  EXPECT_NE(reply->json.find("\"clients\":2"), std::string::npos) << reply->json;
  EXPECT_NE(reply->json.find("\"name\":\"worker\""), std::string::npos) << reply->json;
}

TEST_F(Authorization, RemovingAKeyEndsItsLiveSessionAndRefusesItsNextMessages) {
  hello("worker");
  join("worker", "samples");
  (void)send("worker", Ready{"samples", 5});
  hello("trainer");
  const auto out = apply({"trainer", "ops"}, rules());
  ASSERT_EQ(out.size(), 1u);
  const auto* bye = std::get_if<Goodbye>(&out[0].message);
  ASSERT_NE(bye, nullptr);
  EXPECT_EQ(out[0].to, "worker");
  EXPECT_EQ(bye->reason, GoodbyeReason::revoked);
  EXPECT_EQ(core->group("samples")->members().size(), 0u);
  EXPECT_NE(refusal(send("worker", Produce{1, "samples", 1, bytes("x")}), ErrorCode::not_authorized), nullptr);
  EXPECT_NE(refusal(send("worker", Hello{"again"}), ErrorCode::not_authorized), nullptr);
  // The trainer's items still go nowhere: the revoked worker's credits went with it.
  EXPECT_TRUE(error_in(send("trainer", Produce{2, "samples", 1, bytes("item")})) == nullptr);
  EXPECT_EQ(core->group("samples")->queue_size(), 1u);
  EXPECT_EQ(core->statistics().revoked_clients, 1u);
}

TEST_F(Authorization, ItemsARevokedConsumerHeldGoToAnother) {
  hello("worker");
  hello("trainer");
  join("worker", "samples");
  join("trainer", "samples");
  (void)send("trainer", Produce{1, "samples", 1, bytes("item")});
  const auto delivered = send("worker", Ready{"samples", 1});
  ASSERT_EQ(produced_to(delivered, "worker").size(), 1u);
  (void)send("trainer", Ready{"samples", 1});
  const auto out = apply({"trainer", "ops"}, rules());
  EXPECT_EQ(payloads_to(out, "trainer", Kind::produced), std::vector<std::string>{"item"});
}

TEST_F(Authorization, NarrowerRulesEndMembershipsAndCreditsOnLiveSessions) {
  hello("worker");
  join("worker", "weights");
  join("worker", "samples");
  (void)send("worker", Ready{"samples", 3});
  // New rules: workers may no longer join weights, and may join samples but not consume.
  const auto out = apply({"trainer", "worker", "ops"},
                         {AccessRule{{"worker"}, {"samples"}, bits({Action::join, Action::produce}), 0}});
  std::vector<std::string> refused_groups;
  for (const auto& o : out) {
    if (const auto* e = std::get_if<ErrorReply>(&o.message); e && e->code == ErrorCode::not_authorized) {
      refused_groups.push_back(e->group);
    }
  }
  std::sort(refused_groups.begin(), refused_groups.end());
  EXPECT_EQ(refused_groups, (std::vector<std::string>{"samples", "weights"}));
  EXPECT_FALSE(core->group("weights")->has_member("worker"));
  EXPECT_TRUE(core->group("samples")->has_member("worker"));
  EXPECT_EQ(core->group("samples")->credits("worker"), 0);
  hello("trainer");
  (void)send("worker", Produce{1, "samples", 1, bytes("x")});
  EXPECT_EQ(core->group("samples")->queue_size(), 1u) << "no credits left to take it";
}

TEST_F(Authorization, RefusalsAreLoggedWithTheKeysName) {
  hello("worker");
  (void)core->take_log();
  (void)send("worker", Join{"secret"});
  const auto log = core->take_log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].text.find("'worker'"), std::string::npos) << log[0].text;
  EXPECT_NE(log[0].text.find("join on 'secret'"), std::string::npos) << log[0].text;
}

}  // namespace
}  // namespace zrelay::broker
