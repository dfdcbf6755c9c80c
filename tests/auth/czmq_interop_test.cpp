// CZMQ reads the certificates zrelay writes, and zrelay reads the ones CZMQ writes.
#include <zrelay/certificate.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <czmq.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include <sys/stat.h>

namespace {
namespace fs = std::filesystem;
using zrelay::Certificate;

class CzmqInteropTest : public ::testing::Test {
 protected:

  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  zrelay::testing::TempDir temp_;
  const fs::path dir_ = temp_.path();
};

struct ZcertDeleter {
  void operator()(zcert_t* cert) const { zcert_destroy(&cert); }
};
using Zcert = std::unique_ptr<zcert_t, ZcertDeleter>;

TEST_F(CzmqInteropTest, CzmqLoadsOurCertificate) {
  Certificate cert = Certificate::generate();
  cert.set_meta("name", "alice");
  cert.set_meta("email", "alice@example.org");
  cert.save(file("alice"));

  const Zcert loaded(zcert_load(file("alice").c_str()));
  ASSERT_TRUE(loaded);
  EXPECT_EQ(std::string(zcert_public_txt(loaded.get())), cert.public_key());
  EXPECT_EQ(std::string(zcert_secret_txt(loaded.get())), cert.secret_key());
  ASSERT_NE(zcert_meta(loaded.get(), "name"), nullptr);
  EXPECT_STREQ(zcert_meta(loaded.get(), "name"), "alice");
  EXPECT_STREQ(zcert_meta(loaded.get(), "email"), "alice@example.org");
}

TEST_F(CzmqInteropTest, CzmqLoadsOurPublicCertificate) {
  const Certificate cert = Certificate::generate();
  cert.save_public(file("pub"));
  const Zcert loaded(zcert_load(file("pub").c_str()));
  ASSERT_TRUE(loaded);
  EXPECT_EQ(std::string(zcert_public_txt(loaded.get())), cert.public_key());
  EXPECT_EQ(std::string(zcert_secret_txt(loaded.get())), std::string(40, '0'));
}

TEST_F(CzmqInteropTest, WeLoadCzmqCertificate) {
  const Zcert cert(zcert_new());
  ASSERT_TRUE(cert);
  zcert_set_meta(cert.get(), "name", "%s", "bob");
  zcert_set_meta(cert.get(), "organization", "%s", "Example Org");
  ASSERT_EQ(zcert_save(cert.get(), file("bob").c_str()), 0);

  struct stat status {};
  ASSERT_EQ(::stat(file("bob_secret").c_str(), &status), 0);
  ASSERT_EQ(status.st_mode & 077, 0u) << "CZMQ wrote its secret file with a mode we would reject";

  const Certificate loaded = Certificate::load(file("bob"));
  EXPECT_EQ(loaded.public_key(), zcert_public_txt(cert.get()));
  EXPECT_EQ(loaded.secret_key(), zcert_secret_txt(cert.get()));
  EXPECT_EQ(loaded.name(), "bob");
  EXPECT_EQ(loaded.meta("organization"), "Example Org");

  const Certificate public_only = Certificate::load_public(file("bob"));
  EXPECT_EQ(public_only.public_key(), zcert_public_txt(cert.get()));
  EXPECT_FALSE(public_only.has_secret());
}

TEST_F(CzmqInteropTest, WeLoadCzmqPublicCertificate) {
  const Zcert cert(zcert_new());
  ASSERT_TRUE(cert);
  ASSERT_EQ(zcert_save_public(cert.get(), file("pub").c_str()), 0);
  const Certificate loaded = Certificate::load(file("pub"));
  EXPECT_EQ(loaded.public_key(), zcert_public_txt(cert.get()));
  EXPECT_FALSE(loaded.has_secret());
  EXPECT_EQ(loaded.name(), "");
}

}  // namespace
