#pragma once
// The text of one certificate file (CZMQ's zcert format, ZPL), parsed and checked without
// touching the file system: Certificate::load reads the file and its mode, then uses this.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <zrelay/certificate.hpp>

namespace zrelay::auth {

// Certificate files are small; a larger text is refused before it is parsed.
inline constexpr std::size_t max_certificate_text = 64 * 1024;

struct CertificateText {
  std::string public_z85;
  std::string secret_z85;  // empty if the text holds none (or CZMQ's all-zero placeholder)
  std::vector<std::pair<std::string, std::string>> metadata;  // in file order
};

// Parses `text`: one 'curve' section with a valid public-key, an optional secret-key that must
// belong to it, an optional 'metadata' section without repeated names. `source` names the text
// in error messages (a path). Throws Error(ErrorCode::certificate) naming source and line.
[[nodiscard]] CertificateText parse_certificate_text(std::string_view text, const std::string& source);

// The Certificate of a parsed text; invalid metadata throws Error(ErrorCode::certificate).
[[nodiscard]] Certificate to_certificate(CertificateText text, const std::string& source);

}  // namespace zrelay::auth
