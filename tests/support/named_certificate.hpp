#pragma once
// A new key pair whose certificate carries a "name" (what authorization rules match).
#include <string>

#include <zrelay/certificate.hpp>

namespace zrelay::testing {

inline Certificate named_certificate(const std::string& name) {
  Certificate cert = Certificate::generate();
  cert.set_meta("name", name);
  return cert;
}

}  // namespace zrelay::testing
