#include "auth/access_policy.hpp"

#include <gtest/gtest.h>
#include <zrelay/error.hpp>

namespace zrelay::auth {
namespace {

const Identity trainer{"rq7gZzD#wk2)YtPx/[lv4Ba%#kcvQbJn7c(GcbqD", "trainer", {{"name", "trainer"}, {"role", "learner"}}};
const Identity worker{"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", "worker-3", {{"role", "worker"}}};

Actions bits(std::initializer_list<Action> actions) {
  Actions out = 0;
  for (const Action a : actions) out = static_cast<Actions>(out | static_cast<Actions>(a));
  return out;
}

TEST(GlobMatch, StarsAndQuestionMarks) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("samples.*", "samples.env3"));
  EXPECT_FALSE(glob_match("samples.*", "samples"));
  EXPECT_TRUE(glob_match("a*b", "a*xb"));
  EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(glob_match("w?ights", "weights"));
  EXPECT_FALSE(glob_match("w?ights", "wights"));
  EXPECT_FALSE(glob_match("weights", "weights2"));
  EXPECT_TRUE(glob_match("**x", "x"));
}

// '?' is one character, not one byte: a deny of "samples.secret?" covers "samples.secretÉ".
TEST(GlobMatch, QuestionMarkIsOneUtf8Character) {
  EXPECT_TRUE(glob_match("samples.secret?", "samples.secret\xC3\x89"));        // É, 2 bytes
  EXPECT_TRUE(glob_match("?", "\xE2\x82\xAC"));                                // €, 3 bytes
  EXPECT_TRUE(glob_match("?", "\xF0\x9F\x98\x80"));                            // 4 bytes
  EXPECT_FALSE(glob_match("??", "\xC3\x89"));
  EXPECT_TRUE(glob_match("*?x", "\xC3\x89x"));
  EXPECT_TRUE(glob_match("a*?b", "a\xC3\x89\xC3\x89" "b"));
  EXPECT_TRUE(glob_match("?", "\xFF"));  // not UTF-8: a byte is a character
}

TEST(AccessPolicy, WithoutRulesEveryGroupActionIsAllowedButNotStats) {
  const AccessPolicy open;
  for (const Action a : {Action::join, Action::broadcast, Action::produce, Action::consume}) {
    EXPECT_TRUE(open.permits(worker, a, "any"));
  }
  EXPECT_FALSE(open.permits(worker, Action::stats, ""));
}

TEST(AccessPolicy, WithRulesWhatNoRuleAllowsIsDenied) {
  const AccessPolicy policy({AccessRule{{"trainer"}, {"weights"}, bits({Action::broadcast}), 0},
                             AccessRule{{"*"}, {"weights"}, bits({Action::join}), 0},
                             AccessRule{{"meta:role=worker"}, {"samples.*"}, bits({Action::produce}), 0}},
                            AccessDefault::automatic);
  EXPECT_TRUE(policy.permits(trainer, Action::broadcast, "weights"));
  EXPECT_FALSE(policy.permits(worker, Action::broadcast, "weights"));
  EXPECT_TRUE(policy.permits(worker, Action::join, "weights"));
  EXPECT_FALSE(policy.permits(worker, Action::join, "samples.1"));
  EXPECT_TRUE(policy.permits(worker, Action::produce, "samples.1"));
  EXPECT_FALSE(policy.permits(trainer, Action::produce, "samples.1")) << "its role is learner";
  EXPECT_FALSE(policy.permits(trainer, Action::consume, "weights"));
}

TEST(AccessPolicy, RulesForStatsOnlyLeaveTheGroupsOpen) {
  const AccessPolicy policy({AccessRule{{"trainer"}, {}, bits({Action::stats}), 0}}, AccessDefault::automatic);
  EXPECT_TRUE(policy.permits(worker, Action::produce, "g"));
  EXPECT_FALSE(policy.permits(worker, Action::stats, ""));
  EXPECT_TRUE(policy.permits(trainer, Action::stats, ""));
  const AccessPolicy closed({AccessRule{{"trainer"}, {}, bits({Action::stats}), 0}}, AccessDefault::deny);
  EXPECT_FALSE(closed.permits(worker, Action::produce, "g"));
}

TEST(AccessPolicy, DenyWinsOverAllowInAnyOrder) {
  const AccessPolicy policy({AccessRule{{"*"}, {"*"}, bits({Action::produce, Action::consume}), 0},
                             AccessRule{{"worker-3"}, {"*"}, 0, bits({Action::consume})}},
                            AccessDefault::deny);
  EXPECT_TRUE(policy.permits(worker, Action::produce, "g"));
  EXPECT_FALSE(policy.permits(worker, Action::consume, "g"));
  EXPECT_TRUE(policy.permits(trainer, Action::consume, "g"));
}

TEST(AccessPolicy, DefaultAllowWithDenyRules) {
  const AccessPolicy policy({AccessRule{{"name:worker-3"}, {"weights"}, 0, bits({Action::broadcast})}},
                            AccessDefault::allow);
  EXPECT_FALSE(policy.permits(worker, Action::broadcast, "weights"));
  EXPECT_TRUE(policy.permits(worker, Action::broadcast, "other"));
  EXPECT_TRUE(policy.permits(trainer, Action::broadcast, "weights"));
  EXPECT_FALSE(policy.permits(trainer, Action::stats, "")) << "stats is never a default";
}

TEST(AccessPolicy, ClientsByKeyWithOrWithoutPrefix) {
  const AccessPolicy by_key({AccessRule{{"key:" + trainer.key}, {"*"}, bits({Action::stats}), 0},
                             AccessRule{{worker.key}, {"*"}, bits({Action::stats}), 0}},
                            AccessDefault::automatic);
  EXPECT_TRUE(by_key.permits(trainer, Action::stats, ""));
  EXPECT_TRUE(by_key.permits(worker, Action::stats, ""));
  const AccessPolicy other({AccessRule{{"key:" + worker.key}, {"*"}, bits({Action::stats}), 0}}, AccessDefault::automatic);
  EXPECT_FALSE(other.permits(trainer, Action::stats, ""));
}

TEST(AccessPolicy, MalformedRulesAreConfigurationErrors) {
  const auto error_of = [](AccessRule rule) {
    try {
      (void)AccessPolicy({std::move(rule)}, AccessDefault::automatic);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::ok;
  };
  EXPECT_EQ(error_of(AccessRule{{}, {"*"}, bits({Action::join}), 0}), ErrorCode::configuration);
  EXPECT_EQ(error_of(AccessRule{{"*"}, {"*"}, 0, 0}), ErrorCode::configuration);
  EXPECT_EQ(error_of(AccessRule{{"key:short"}, {"*"}, bits({Action::join}), 0}), ErrorCode::configuration);
  EXPECT_EQ(error_of(AccessRule{{"meta:role"}, {"*"}, bits({Action::join}), 0}), ErrorCode::configuration);
  EXPECT_EQ(error_of(AccessRule{{""}, {"*"}, bits({Action::join}), 0}), ErrorCode::configuration);
  EXPECT_EQ(error_of(AccessRule{{"*"}, {"*"}, bits({Action::join}), 0}), ErrorCode::ok);
}

TEST(AccessActions, NamesRoundTripAndAllIsTheFourGroupActions) {
  for (const Action a : {Action::join, Action::broadcast, Action::produce, Action::consume, Action::stats}) {
    EXPECT_EQ(parse_actions(to_string(a)), static_cast<Actions>(a));
  }
  EXPECT_EQ(parse_actions("all"), bits({Action::join, Action::broadcast, Action::produce, Action::consume}));
  EXPECT_FALSE(parse_actions("admin").has_value());
}

}  // namespace
}  // namespace zrelay::auth
