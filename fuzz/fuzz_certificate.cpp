// The certificate file parser: ZPL (auth/zpl_reader) plus the zcert checks and metadata rules
// (auth/certificate_text), i.e. everything Certificate::load does after reading the file.
// zrelay::Error (certificate) is the expected outcome for bad input.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <zrelay/certificate.hpp>
#include <zrelay/error.hpp>

#include "auth/certificate_text.hpp"
#include "auth/zpl_reader.hpp"

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_certificate: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)zrelay::auth::ZplReader("fuzz").parse(text);
  } catch (const zrelay::Error& e) {
    if (e.code() != zrelay::ErrorCode::certificate) finding("ZplReader threw another code than certificate");
  }
  try {
    const zrelay::auth::CertificateText parsed = zrelay::auth::parse_certificate_text(text, "fuzz");
    const zrelay::Certificate cert = zrelay::auth::to_certificate(parsed, "fuzz");
    if (cert.public_key() != parsed.public_z85 || cert.secret_key() != parsed.secret_z85) finding("keys changed");
    if (cert.metadata() != parsed.metadata) finding("metadata changed");
    if (cert.public_key().size() != 40) finding("public key is not 40 characters");
  } catch (const zrelay::Error& e) {
    if (e.code() != zrelay::ErrorCode::certificate) finding("the parser threw another code than certificate");
  }
  return 0;
}
