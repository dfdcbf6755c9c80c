// parse_certificate_text: the certificate parser without the file system (what
// Certificate::load uses after reading a file, and what fuzz/fuzz_certificate.cpp feeds).
#include "auth/certificate_text.hpp"

#include <string>

#include <gtest/gtest.h>

#include <zrelay/certificate.hpp>
#include <zrelay/error.hpp>

namespace zrelay::auth {
namespace {

std::string curve_text(const std::string& public_key, const std::string& secret_key = {}) {
  std::string text = "curve\n    public-key = \"" + public_key + "\"\n";
  if (!secret_key.empty()) text += "    secret-key = \"" + secret_key + "\"\n";
  return text;
}

ErrorCode error_of(const std::string& text, std::string* what = nullptr) {
  try {
    (void)to_certificate(parse_certificate_text(text, "src"), "src");
  } catch (const Error& e) {
    if (what != nullptr) *what = e.what();
    return e.code();
  }
  return ErrorCode::ok;
}

TEST(CertificateText, ParsesACzmqStyleSecretCertificate) {
  const Certificate cert = Certificate::generate();
  const std::string text =
      "#   ****  Generated on 2024-01-01 00:00:00 by CZMQ  ****\n"
      "#   ZeroMQ CURVE **Secret** Certificate\n"
      "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
      "\n"
      "metadata\n"
      "    name = \"alice\"\n"
      "    team = 'ops'   # comment\n"
      "curve\n"
      "    public-key = \"" + cert.public_key() + "\"\n"
      "    secret-key = \"" + cert.secret_key() + "\"\n";
  const CertificateText parsed = parse_certificate_text(text, "src");
  EXPECT_EQ(parsed.public_z85, cert.public_key());
  EXPECT_EQ(parsed.secret_z85, cert.secret_key());
  ASSERT_EQ(parsed.metadata.size(), 2u);
  EXPECT_EQ(parsed.metadata[1], (std::pair<std::string, std::string>{"team", "ops"}));

  const Certificate loaded = to_certificate(parsed, "src");
  EXPECT_EQ(loaded.public_key(), cert.public_key());
  EXPECT_TRUE(loaded.has_secret());
  EXPECT_EQ(loaded.name(), "alice");
}

TEST(CertificateText, PublicOnlyAndTheAllZeroPlaceholder) {
  const Certificate cert = Certificate::generate();
  EXPECT_TRUE(parse_certificate_text(curve_text(cert.public_key()), "src").secret_z85.empty());
  const CertificateText placeholder =
      parse_certificate_text(curve_text(cert.public_key(), std::string(40, '0')), "src");
  EXPECT_TRUE(placeholder.secret_z85.empty());
}

TEST(CertificateText, ErrorsNameTheSourceAndLine) {
  const Certificate cert = Certificate::generate();
  const Certificate other = Certificate::generate();
  std::string what;
  EXPECT_EQ(error_of("", &what), ErrorCode::certificate);
  EXPECT_NE(what.find("src: no 'curve'"), std::string::npos) << what;
  EXPECT_EQ(error_of(curve_text(cert.public_key(), other.secret_key()), &what), ErrorCode::certificate);
  EXPECT_NE(what.find("src:3:"), std::string::npos) << what;
  EXPECT_EQ(error_of("curve\n    public-key = \"" + cert.public_key() + "\n", &what), ErrorCode::certificate);
  EXPECT_NE(what.find("src:2: missing closing"), std::string::npos) << what;
  EXPECT_EQ(error_of("metadata\n    a = 1\n    a = 2\n" + curve_text(cert.public_key()), &what),
            ErrorCode::certificate);
  EXPECT_NE(what.find("src:2: metadata 'a' appears more than once"), std::string::npos) << what;
}

TEST(CertificateText, RefusesOversizedTextAndInvalidMetadata) {
  const Certificate cert = Certificate::generate();
  std::string what;
  const std::string big = curve_text(cert.public_key()) + "# " + std::string(max_certificate_text, 'x') + "\n";
  EXPECT_EQ(error_of(big, &what), ErrorCode::certificate);
  EXPECT_NE(what.find("too large"), std::string::npos) << what;
  // A metadata line longer than CZMQ reads is refused by Certificate::set_meta, reported as a
  // certificate error of this source.
  const std::string long_meta = "metadata\n    name = " + std::string(1000, 'n') + "\n" + curve_text(cert.public_key());
  EXPECT_EQ(error_of(long_meta, &what), ErrorCode::certificate);
  EXPECT_EQ(what.rfind("src: ", 0), 0u) << what;
}

}  // namespace
}  // namespace zrelay::auth
