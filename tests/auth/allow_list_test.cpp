#include "auth/allow_list.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

#include <zrelay/error.hpp>

namespace {
namespace fs = std::filesystem;
using zrelay::Certificate;
using zrelay::Error;
using zrelay::ErrorCode;
using zrelay::auth::AllowList;

class AllowListTest : public ::testing::Test {
 protected:

  Certificate make(const std::string& name) const {
    Certificate cert = Certificate::generate();
    if (!name.empty()) cert.set_meta("name", name);
    return cert;
  }

  zrelay::testing::TempDir temp_;
  const fs::path dir_ = temp_.path();
};

ErrorCode code_of_load(const fs::path& dir, std::string& message) {
  try {
    (void)AllowList::load_directory(dir);
  } catch (const Error& e) {
    message = e.what();
    return e.code();
  }
  return ErrorCode::ok;
}

TEST_F(AllowListTest, TwoKeysWithOneNameAreRefused) {
  AllowList list;
  list.add(make("alice"));
  EXPECT_THROW(list.add(make("alice")), Error);
  EXPECT_EQ(list.size(), 1u);
}

TEST_F(AllowListTest, OneKeyInTwoFilesIsRefused) {
  const Certificate alice = make("alice");
  alice.save_public(dir_ / "alice");
  alice.save_public(dir_ / "alice-again");
  std::string message;
  EXPECT_EQ(code_of_load(dir_, message), ErrorCode::certificate);
  EXPECT_NE(message.find("already allowed"), std::string::npos) << message;
}

TEST_F(AllowListTest, AFifoIsRefusedWithoutBlocking) {
  make("alice").save_public(dir_ / "alice");
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  auto load = std::async(std::launch::async, [&] {
    std::string message;
    return std::make_pair(code_of_load(dir_, message), message);
  });
  if (load.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    const int writer = ::open((dir_ / "fifo").c_str(), O_WRONLY | O_NONBLOCK);  // releases the open()
    if (writer >= 0) ::close(writer);
    FAIL() << "loading the directory blocked on the FIFO";
  }
  const auto [code, message] = load.get();
  EXPECT_EQ(code, ErrorCode::certificate);
  EXPECT_NE(message.find("not a regular file"), std::string::npos) << message;
}

TEST_F(AllowListTest, AddAndFind) {
  AllowList list;
  EXPECT_TRUE(list.empty());
  const Certificate alice = make("alice");
  const Certificate anonymous = make("");
  list.add(alice);
  list.add(anonymous);
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.find(alice.public_key_bytes()), "alice");
  EXPECT_EQ(list.find(anonymous.public_key_bytes()), anonymous.public_key());
  EXPECT_EQ(list.find(make("x").public_key_bytes()), std::nullopt);
  EXPECT_THROW(list.add(alice, "renamed"), Error);  // a key is allowed once, under one name
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.find(alice.public_key_bytes()), "alice");
  EXPECT_THROW(list.add(Certificate()), Error);
}

TEST_F(AllowListTest, LoadsPublicCertificatesOfADirectory) {
  const Certificate alice = make("alice");
  const Certificate bob = make("bob");
  const Certificate carol = make("");
  alice.save_public(dir_ / "alice");
  bob.save(dir_ / "bob");  // bob_secret is skipped, bob is loaded
  carol.save_public(dir_ / "carol.cert");
  std::ofstream(dir_ / ".hidden") << "not a certificate";
  fs::create_directory(dir_ / "subdir");
  std::ofstream(dir_ / "subdir" / "junk") << "not a certificate";

  const AllowList list = AllowList::load_directory(dir_);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.find(alice.public_key_bytes()), "alice");
  EXPECT_EQ(list.find(bob.public_key_bytes()), "bob");
  EXPECT_EQ(list.find(carol.public_key_bytes()), "carol.cert");  // no name metadata: the file name
  EXPECT_EQ(list.find(make("eve").public_key_bytes()), std::nullopt);
}

TEST_F(AllowListTest, EmptyDirectoryGivesEmptyList) {
  EXPECT_TRUE(AllowList::load_directory(dir_).empty());
}

TEST_F(AllowListTest, MalformedFileFailsClosed) {
  make("alice").save_public(dir_ / "alice");
  std::ofstream(dir_ / "broken") << "curve\n    public-key = \"tooshort\"\n";
  std::string message;
  EXPECT_EQ(code_of_load(dir_, message), ErrorCode::certificate);
  EXPECT_NE(message.find((dir_ / "broken").string()), std::string::npos) << message;
}

TEST_F(AllowListTest, BrokenSymlinkFailsClosed) {
  fs::create_symlink(dir_ / "nowhere", dir_ / "dangling");
  std::string message;
  EXPECT_EQ(code_of_load(dir_, message), ErrorCode::certificate);
  EXPECT_NE(message.find("dangling"), std::string::npos) << message;
}

TEST_F(AllowListTest, ReadableSecretInDirectoryFailsClosed) {
  make("leaky").save_secret(dir_ / "leaky");
  fs::permissions(dir_ / "leaky", fs::perms(0644));
  std::string message;
  EXPECT_EQ(code_of_load(dir_, message), ErrorCode::certificate);
  EXPECT_NE(message.find("chmod 600"), std::string::npos) << message;
}

TEST_F(AllowListTest, MissingDirectoryIsAnError) {
  std::string message;
  EXPECT_EQ(code_of_load(dir_ / "absent", message), ErrorCode::certificate);
  EXPECT_NE(message.find("absent"), std::string::npos) << message;
}

}  // namespace
