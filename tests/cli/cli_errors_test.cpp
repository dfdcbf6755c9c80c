// How the zrelay command fails: sysexits codes and messages that say what to fix.
#include <filesystem>

#include <gtest/gtest.h>
#include <zrelay/certificate.hpp>

#include "tests/cli/cli_fixture.hpp"

namespace zrelay {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using CliErrors = testing::CliFixture;

bool mentions(const testing::RunResult& result, const std::string& text) {
  return result.output.find(text) != std::string::npos;
}

TEST_F(CliErrors, AnUnknownKeyIsNotAuthorized) {
  const auto keygen = testing::run({ZRELAY_KEYGEN_PATH, "mallory", "--dir", dir.path().string()});
  ASSERT_EQ(keygen.status, 0) << keygen.output;
  const auto result = zrelay({"produce", "--cert", (dir / "mallory").string(), "work", "x"});
  EXPECT_EQ(result.status, 77);
  EXPECT_TRUE(mentions(result, "not authorized")) << result.output;
  EXPECT_TRUE(mentions(result, Certificate::load(dir / "mallory").public_key())) << result.output;
}

TEST_F(CliErrors, AMissingCertificateFileIsNamed) {
  const auto no_cert = zrelay({"listen", "--cert", (dir / "nope").string(), "news"});
  EXPECT_EQ(no_cert.status, 78);
  EXPECT_TRUE(mentions(no_cert, "'" + (dir / "nope").string() + "' not found")) << no_cert.output;

  fs::copy_file(state / "client", dir / "lonely");  // the public half only
  const auto no_secret = zrelay({"produce", "--cert", (dir / "lonely").string(), "work", "x"});
  EXPECT_EQ(no_secret.status, 78);
  EXPECT_TRUE(mentions(no_secret, (dir / "lonely_secret").string())) << no_secret.output;

  const auto no_broker_cert = zrelay({"consume", "--broker-cert", (dir / "nobroker").string(), "work"});
  EXPECT_EQ(no_broker_cert.status, 78);
  EXPECT_TRUE(mentions(no_broker_cert, (dir / "nobroker").string())) << no_broker_cert.output;

  // A state directory where zrelay-broker never ran: the default files are missing.
  const auto no_state = zrelay({"produce", "work", "x"}, {}, {"ZRELAY_STATE_DIR=" + (dir / "empty").string()});
  EXPECT_EQ(no_state.status, 78);
  EXPECT_TRUE(mentions(no_state, (dir / "empty").string())) << no_state.output;
  EXPECT_TRUE(mentions(no_state, "zrelay-broker")) << no_state.output;
}

TEST_F(CliErrors, NoBrokerThereIsUnavailable) {
  const auto nobody = zrelay({"produce", "--broker", "tcp://127.0.0.1:1", "--timeout", "300", "work", "x"});
  EXPECT_EQ(nobody.status, 69);
  EXPECT_TRUE(mentions(nobody, "no broker at tcp://127.0.0.1:1 within 300 ms")) << nobody.output;

  // The right address with another broker key: the handshake never completes.
  const auto impostor = zrelay({"listen", "--broker-key", Certificate::generate().public_key(), "--timeout", "300", "news"});
  EXPECT_EQ(impostor.status, 69);
  EXPECT_TRUE(mentions(impostor, "no broker at " + address)) << impostor.output;
}

TEST_F(CliErrors, ExplicitKeysAndTheirEnvironmentVariables) {
  const std::vector<std::string> elsewhere{"ZRELAY_STATE_DIR=" + (dir / "empty").string()};
  const auto by_key = zrelay({"produce", "--broker-key", broker_key, "--cert", (state / "client").string(), "work", "a"},
                             {}, elsewhere);
  EXPECT_EQ(by_key.status, 0) << by_key.output;
  std::vector<std::string> by_env = elsewhere;
  by_env.insert(by_env.begin(), {"ZRELAY_BROKER_CERT=" + (state / "broker").string(),
                                 "ZRELAY_CERT=" + (state / "client").string()});
  const auto from_env = zrelay({"produce", "work", "b"}, {}, by_env);
  EXPECT_EQ(from_env.status, 0) << from_env.output;
  const auto by_option = zrelay({"consume", "--broker", address, "--broker-cert", (state / "broker").string(), "-n", "2",
                                 "work"});
  EXPECT_EQ(by_option.output, "a\nb\n");
}

TEST_F(CliErrors, UsageErrorsExit64) {
  const std::vector<std::vector<std::string>> usage_errors{
      {},
      {"nosuchcommand"},
      {"produce"},
      {"listen"},
      {"produce", "--bogus", "work", "x"},
      {"produce", "--copies", "0", "work", "x"},
      {"consume", "work", "-n", "0"},
      {"consume", "work", "-n", "2", "--forever"},
      {"broadcast", "--broker-key", broker_key, "--broker-cert", (state / "broker").string(), "news", "x"},
      {"broadcast", std::string("bad\x01group"), "x"},
      {"produce", "--broker", "no-address", "work", "x"},
  };
  for (const auto& args : usage_errors) {
    const auto result = zrelay(args);
    EXPECT_EQ(result.status, 64) << ::testing::PrintToString(args) << "\n" << result.output;
  }
}

TEST_F(CliErrors, HelpAndVersionGoToStdout) {
  const auto stdout_of = [](const std::string& args) {
    return testing::run({"/bin/sh", "-c", "exec \"$0\" " + args + " 2>/dev/null", ZRELAY_CLI_PATH});
  };
  const auto help = stdout_of("--help");
  EXPECT_EQ(help.status, 0);
  for (const char* command : {"broadcast", "produce", "listen", "consume"}) {
    EXPECT_TRUE(mentions(help, command)) << help.output;
  }
  const auto produce_help = stdout_of("produce --help");
  EXPECT_EQ(produce_help.status, 0);
  EXPECT_TRUE(mentions(produce_help, "--copies")) << produce_help.output;
  EXPECT_TRUE(mentions(produce_help, "ZRELAY_BROKER")) << produce_help.output;
  const auto version = stdout_of("--version");
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.output.rfind("zrelay ", 0), 0u) << version.output;
}

class CliRefusals : public testing::CliFixture {
 protected:
  CliRefusals() { broker_options = {"--group", "jobs:0:1"}; }  // only group jobs, one item queued at most
};

TEST_F(CliRefusals, RefusalsArePrintedAndFailTheCommand) {
  const auto full = zrelay({"produce", "jobs", "first", "second"});
  EXPECT_EQ(full.status, 69);
  EXPECT_TRUE(mentions(full, "queue_full")) << full.output;
  EXPECT_TRUE(mentions(full, "'jobs'")) << full.output;

  const auto unknown = zrelay({"broadcast", "other", "x"});
  EXPECT_EQ(unknown.status, 69);
  EXPECT_TRUE(mentions(unknown, "unknown_group")) << unknown.output;

  const auto join = zrelay({"listen", "other"});
  EXPECT_EQ(join.status, 69);
  EXPECT_TRUE(mentions(join, "other")) << join.output;

  EXPECT_EQ(zrelay({"consume", "jobs"}).output, "first\n");
}

}  // namespace
}  // namespace zrelay
