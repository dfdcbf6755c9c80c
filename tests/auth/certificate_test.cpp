#include <zrelay/certificate.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/file_mode.hpp"
#include "tests/support/temp_dir.hpp"
#include <sys/stat.h>
#include <zmq.h>

#include <zrelay/error.hpp>

namespace {
using zrelay::testing::mode_of;
namespace fs = std::filesystem;
using zrelay::Certificate;
using zrelay::Error;
using zrelay::ErrorCode;

class CertificateTest : public ::testing::Test {
 protected:

  fs::path file(const std::string& name) const { return dir_ / name; }

  fs::path write(const std::string& name, const std::string& text, fs::perms mode = fs::perms(0600)) const {
    const fs::path path = file(name);
    std::ofstream(path) << text;
    fs::permissions(path, mode);
    return path;
  }

  zrelay::testing::TempDir temp_;
  const fs::path dir_ = temp_.path();
};

// Expects `action` to throw Error with `code` and a message holding every one of `parts`.
template <typename Action>
void expect_error(Action action, ErrorCode code, std::initializer_list<std::string> parts) {
  try {
    action();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const std::string& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

std::string curve_text(const std::string& public_key, const std::string& secret_key = {}) {
  std::string text = "metadata\n    name = \"x\"\ncurve\n    public-key = \"" + public_key + "\"\n";
  if (!secret_key.empty()) text += "    secret-key = \"" + secret_key + "\"\n";
  return text;
}

TEST_F(CertificateTest, GenerateMakesAValidKeyPair) {
  const Certificate cert = Certificate::generate();
  EXPECT_EQ(cert.public_key().size(), 40u);
  EXPECT_EQ(cert.secret_key().size(), 40u);
  EXPECT_TRUE(cert.has_secret());
  char derived[41] = {};
  ASSERT_EQ(zmq_curve_public(derived, cert.secret_key().c_str()), 0);
  EXPECT_EQ(cert.public_key(), derived);
  std::uint8_t bytes[32] = {};
  ASSERT_NE(zmq_z85_decode(bytes, cert.public_key().c_str()), nullptr);
  EXPECT_TRUE(std::equal(std::begin(bytes), std::end(bytes), cert.public_key_bytes().begin()));
  EXPECT_NE(Certificate::generate().public_key(), cert.public_key());
}

TEST_F(CertificateTest, DefaultIsEmpty) {
  const Certificate cert;
  EXPECT_TRUE(cert.empty());
  EXPECT_FALSE(cert.has_secret());
  EXPECT_EQ(cert.name(), "");
  expect_error([&] { cert.save(file("empty")); }, ErrorCode::certificate, {"empty"});
}

TEST_F(CertificateTest, FromKeysValidates) {
  const Certificate cert = Certificate::generate();
  EXPECT_EQ(Certificate::from_keys(cert.public_key()).public_key(), cert.public_key());
  EXPECT_FALSE(Certificate::from_keys(cert.public_key()).has_secret());
  EXPECT_TRUE(Certificate::from_keys(cert.public_key(), cert.secret_key()).has_secret());

  const auto rejects = [](std::string public_key, std::string secret_key = {}) {
    expect_error([&] { (void)Certificate::from_keys(public_key, secret_key); }, ErrorCode::certificate, {});
  };
  rejects("");
  rejects(cert.public_key().substr(0, 39));
  rejects(cert.public_key() + "0");
  rejects(std::string(40, '~'));  // not in the Z85 alphabet
  rejects(std::string(40, '#'));  // Z85 alphabet, but each group overflows 32 bits
  rejects(cert.public_key(), Certificate::generate().secret_key());
  rejects(cert.public_key(), "short");
}

TEST_F(CertificateTest, SaveAndLoadRoundTrip) {
  Certificate cert = Certificate::generate();
  cert.set_meta("name", "alice");
  cert.set_meta("email", "alice@example.org");
  cert.set_meta("quote", "say \"hi\"");
  cert.save(file("alice"));

  const Certificate loaded = Certificate::load(file("alice"));
  EXPECT_EQ(loaded.public_key(), cert.public_key());
  EXPECT_EQ(loaded.secret_key(), cert.secret_key());
  EXPECT_EQ(loaded.name(), "alice");
  EXPECT_EQ(loaded.meta("email"), "alice@example.org");
  EXPECT_EQ(loaded.meta("quote"), "say \"hi\"");
  EXPECT_EQ(loaded.meta("missing"), std::nullopt);

  const Certificate public_only = Certificate::load_public(file("alice"));
  EXPECT_EQ(public_only.public_key(), cert.public_key());
  EXPECT_FALSE(public_only.has_secret());
}

TEST_F(CertificateTest, SecretFileIsPrivateAndPublicFileHasNoSecret) {
  const Certificate cert = Certificate::generate();
  cert.save(file("c"));
  EXPECT_EQ(mode_of(file("c_secret")), 0600u);
  std::ifstream in(file("c"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("secret-key"), std::string::npos);
  EXPECT_EQ(text.find(cert.secret_key()), std::string::npos);
  EXPECT_NE(text.find(cert.public_key()), std::string::npos);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
}

TEST_F(CertificateTest, SaveReplacesALooseSecretFileWithAPrivateOne) {
  write("c_secret", "old", fs::perms(0644));
  Certificate::generate().save(file("c"));
  EXPECT_EQ(mode_of(file("c_secret")), 0600u);
  EXPECT_TRUE(Certificate::load(file("c")).has_secret());
}

TEST_F(CertificateTest, SaveNewNeverReplacesAndLeavesNothingBehind) {
  const Certificate first = Certificate::generate();
  first.save_new(file("c"));
  EXPECT_EQ(Certificate::load(file("c")).secret_key(), first.secret_key());
  EXPECT_THROW(Certificate::generate().save_new(file("c")), Error);
  EXPECT_EQ(Certificate::load(file("c")).secret_key(), first.secret_key()) << "the first pair is untouched";
  // Only the public file exists (e.g. another process is writing its pair): no stray secret.
  write("d", "whatever", fs::perms(0644));
  EXPECT_THROW(Certificate::generate().save_new(file("d")), Error);
  EXPECT_FALSE(fs::exists(file("d_secret")));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 3) << "c, c_secret, d";
}

TEST_F(CertificateTest, LoadRejectsAReadableSecretFile) {
  Certificate::generate().save(file("c"));
  fs::permissions(file("c_secret"), fs::perms(0644));
  expect_error([&] { (void)Certificate::load(file("c")); }, ErrorCode::certificate,
               {file("c_secret").string(), "0644", "chmod 600"});

  Certificate::generate().save_secret(file("full"));
  fs::permissions(file("full"), fs::perms(0640));
  expect_error([&] { (void)Certificate::load(file("full")); }, ErrorCode::certificate, {"0640", "chmod 600"});
}

TEST_F(CertificateTest, LoadsAFullCertificateFromOneFile) {
  const Certificate cert = Certificate::generate();
  cert.save_secret(file("full"));
  EXPECT_EQ(Certificate::load(file("full")).secret_key(), cert.secret_key());
  EXPECT_FALSE(Certificate::load_public(file("full")).has_secret());
}

TEST_F(CertificateTest, LoadWithoutSecretFileGivesPublicOnly) {
  const Certificate cert = Certificate::generate();
  cert.save_public(file("pub"));
  const Certificate loaded = Certificate::load(file("pub"));
  EXPECT_EQ(loaded.public_key(), cert.public_key());
  EXPECT_FALSE(loaded.has_secret());
  expect_error([&] { Certificate::load_public(file("pub")).save_secret(file("s")); }, ErrorCode::certificate, {});
}

TEST_F(CertificateTest, MismatchingSecretFileIsRejected) {
  Certificate::generate().save_public(file("c"));
  Certificate::generate().save_secret(file("c_secret"));
  expect_error([&] { (void)Certificate::load(file("c")); }, ErrorCode::certificate, {file("c_secret").string()});

  const Certificate a = Certificate::generate();
  const Certificate b = Certificate::generate();
  write("mixed", curve_text(a.public_key(), b.secret_key()));
  expect_error([&] { (void)Certificate::load(file("mixed")); }, ErrorCode::certificate,
               {file("mixed").string() + ":5:", "does not belong"});
}

TEST_F(CertificateTest, SecretFileWithoutSecretKeyIsRejected) {
  const Certificate cert = Certificate::generate();
  cert.save_public(file("c"));
  cert.save_public(file("c_secret"));
  expect_error([&] { (void)Certificate::load(file("c")); }, ErrorCode::certificate, {"c_secret", "no secret-key"});
}

TEST_F(CertificateTest, MalformedFilesNameFileAndLine) {
  const std::string key = Certificate::generate().public_key();
  expect_error([&] { (void)Certificate::load(file("missing")); }, ErrorCode::certificate, {"missing", "not found"});

  write("empty", "");
  expect_error([&] { (void)Certificate::load(file("empty")); }, ErrorCode::certificate, {"empty", "no 'curve'"});

  write("nocurve", "metadata\n    name = \"x\"\n");
  expect_error([&] { (void)Certificate::load(file("nocurve")); }, ErrorCode::certificate, {"nocurve", "no 'curve'"});

  write("nokey", "metadata\ncurve\n    other = \"1\"\n");
  expect_error([&] { (void)Certificate::load(file("nokey")); }, ErrorCode::certificate, {"nokey:2:", "no public-key"});

  write("short", curve_text(key.substr(0, 30)));
  expect_error([&] { (void)Certificate::load(file("short")); }, ErrorCode::certificate, {"short:4:", "public-key"});

  write("badz85", curve_text(std::string(40, '~')));
  expect_error([&] { (void)Certificate::load(file("badz85")); }, ErrorCode::certificate, {"badz85:4:", "Z85"});

  write("badsecret", curve_text(key, std::string(40, '#')));
  expect_error([&] { (void)Certificate::load(file("badsecret")); }, ErrorCode::certificate, {"badsecret:5:", "secret-key"});

  write("indent", "curve\n  public-key = \"" + key + "\"\n");
  expect_error([&] { (void)Certificate::load(file("indent")); }, ErrorCode::certificate, {"indent:2:", "indentation"});

  write("quote", "curve\n    public-key = \"" + key + "\n");
  expect_error([&] { (void)Certificate::load(file("quote")); }, ErrorCode::certificate, {"quote:2:", "missing closing"});

  write("junk", "curve\n    public-key = \"" + key + "\" junk\n");
  expect_error([&] { (void)Certificate::load(file("junk")); }, ErrorCode::certificate, {"junk:2:", "invalid syntax"});

  write("twice", "curve\n    public-key = \"" + key + "\"\n    public-key = \"" + key + "\"\n");
  expect_error([&] { (void)Certificate::load(file("twice")); }, ErrorCode::certificate, {"twice:2:", "more than one"});

  write("binary", std::string("curve\n\0\n", 8));
  expect_error([&] { (void)Certificate::load(file("binary")); }, ErrorCode::certificate, {"binary:2:"});
}

TEST_F(CertificateTest, ReadsHandWrittenZpl) {
  const Certificate cert = Certificate::generate();
  write("hand",
        "#   a comment\r\n"
        "\r\n"
        "metadata   # section comment\r\n"
        "    name = bob  # unquoted, comment stripped\r\n"
        "    team = 'ops'\r\n"
        "    # indented comment\r\n"
        "other\r\n"
        "    ignored = 1\r\n"
        "curve\r\n"
        "    public-key = \"" + cert.public_key() + "\"\r\n"
        "    secret-key = \"0000000000000000000000000000000000000000\"\r\n",
        fs::perms(0644));
  const Certificate loaded = Certificate::load(file("hand"));
  EXPECT_EQ(loaded.public_key(), cert.public_key());
  EXPECT_FALSE(loaded.has_secret());  // CZMQ's all-zero placeholder means "no secret key"
  EXPECT_EQ(loaded.name(), "bob");
  EXPECT_EQ(loaded.meta("team"), "ops");
}

TEST_F(CertificateTest, SetMetaValidates) {
  Certificate cert = Certificate::generate();
  cert.set_meta("name", "a");
  cert.set_meta("name", "b");
  EXPECT_EQ(cert.name(), "b");
  EXPECT_EQ(cert.metadata().size(), 1u);
  expect_error([&] { cert.set_meta("", "v"); }, ErrorCode::configuration, {});
  expect_error([&] { cert.set_meta("has space", "v"); }, ErrorCode::configuration, {});
  expect_error([&] { cert.set_meta("/lead", "v"); }, ErrorCode::configuration, {});
  expect_error([&] { cert.set_meta("k", "two\nlines"); }, ErrorCode::configuration, {});
  expect_error([&] { cert.set_meta("k", std::string(1000, 'x')); }, ErrorCode::configuration, {});
  cert.set_meta("both", "\"'");
  expect_error([&] { cert.save(file("both")); }, ErrorCode::configuration, {"quotes"});
}

}  // namespace
