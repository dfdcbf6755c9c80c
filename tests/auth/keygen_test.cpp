// Runs the zrelay-keygen executable; its path comes from ZRELAY_KEYGEN_PATH or $ZRELAY_KEYGEN.
#include <zrelay/certificate.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <czmq.h>
#include <gtest/gtest.h>

#include "tests/support/file_mode.hpp"
#include "tests/support/temp_dir.hpp"
#include <sys/stat.h>
#include <sys/wait.h>

namespace {
using zrelay::testing::mode_of;
namespace fs = std::filesystem;
using zrelay::Certificate;

std::string keygen_path() {
  if (const char* path = std::getenv("ZRELAY_KEYGEN"); path != nullptr && *path != '\0') return path;
#ifdef ZRELAY_KEYGEN_PATH
  return ZRELAY_KEYGEN_PATH;
#else
  return {};
#endif
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

struct ToolRun {
  int exit_code = -1;
  std::string output;
};

class KeygenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (keygen_path().empty()) GTEST_SKIP() << "set ZRELAY_KEYGEN or build with ZRELAY_KEYGEN_PATH";
  }

  // Runs the tool with `args`; stderr is captured too unless `stdout_only`.
  static ToolRun run(const std::vector<std::string>& args, bool stdout_only = false) {
    std::string command = shell_quote(keygen_path());
    for (const std::string& arg : args) command += " " + shell_quote(arg);
    command += stdout_only ? " 2>/dev/null" : " 2>&1";
    ToolRun result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[512];
    while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, got);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  zrelay::testing::TempDir temp_;
  const fs::path dir_ = temp_.path();
};

TEST_F(KeygenTest, WritesBothFilesThatWeAndCzmqLoad) {
  const fs::path keys = dir_ / "new" / "keys";
  const ToolRun result = run({"alice", "--dir", keys.string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(mode_of(keys), 0700u);
  EXPECT_EQ(mode_of(keys / "alice_secret"), 0600u);

  const Certificate cert = Certificate::load(keys / "alice");
  EXPECT_TRUE(cert.has_secret());
  EXPECT_EQ(cert.name(), "alice");
  EXPECT_NE(result.output.find(cert.public_key()), std::string::npos) << result.output;
  EXPECT_NE(result.output.find((keys / "alice").string()), std::string::npos) << result.output;
  EXPECT_NE(result.output.find((keys / "alice_secret").string()), std::string::npos) << result.output;

  zcert_t* loaded = zcert_load((keys / "alice").c_str());
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(std::string(zcert_public_txt(loaded)), cert.public_key());
  EXPECT_EQ(std::string(zcert_secret_txt(loaded)), cert.secret_key());
  zcert_destroy(&loaded);
}

TEST_F(KeygenTest, RefusesToOverwriteWithoutForce) {
  ASSERT_EQ(run({"bob", "--dir", dir_.string()}).exit_code, 0);
  const std::string first = Certificate::load(dir_ / "bob").public_key();

  const ToolRun again = run({"bob", "--dir", dir_.string()});
  EXPECT_EQ(again.exit_code, 73) << again.output;
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;
  EXPECT_EQ(Certificate::load(dir_ / "bob").public_key(), first);

  const ToolRun forced = run({"bob", "--dir", dir_.string(), "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  const Certificate replaced = Certificate::load(dir_ / "bob");
  EXPECT_NE(replaced.public_key(), first);
  EXPECT_TRUE(replaced.has_secret());
}

TEST_F(KeygenTest, RefusesWhenOnlyTheSecretFileExists) {
  Certificate::generate().save_secret(dir_ / "carol_secret");
  EXPECT_EQ(run({"carol", "--dir", dir_.string()}).exit_code, 73);
  EXPECT_FALSE(fs::exists(dir_ / "carol"));
}

TEST_F(KeygenTest, MetadataNameOption) {
  ASSERT_EQ(run({"dave", "--dir", dir_.string(), "--name", "Dave's laptop"}).exit_code, 0);
  EXPECT_EQ(Certificate::load(dir_ / "dave").name(), "Dave's laptop");
}

TEST_F(KeygenTest, InvalidNamesAreUsageErrors) {
  for (const std::string name : {"", "a/b", ".hidden", "x_secret"}) {
    const ToolRun result = run({name, "--dir", dir_.string()});
    EXPECT_EQ(result.exit_code, 64) << "NAME '" << name << "': " << result.output;
    EXPECT_FALSE(result.output.empty());
  }
  EXPECT_EQ(run({}).exit_code, 64);
  EXPECT_EQ(run({"x", "--bogus"}).exit_code, 64);
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(KeygenTest, HelpAndVersion) {
  const ToolRun help = run({"--help"}, true);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--force"), std::string::npos) << help.output;
  const ToolRun version = run({"--version"}, true);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("zrelay-keygen"), std::string::npos) << version.output;
}

}  // namespace
