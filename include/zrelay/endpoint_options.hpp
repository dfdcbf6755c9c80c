#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <zrelay/certificate.hpp>

namespace zrelay {

struct EndpointOptions {
  std::string broker = "tcp://127.0.0.1:5555";
  // The broker's public key (Z85), or the file of its public certificate.
  std::string broker_public_key;
  std::filesystem::path broker_certificate;
  // This endpoint's key pair, or the file to load it from (NAME, with NAME_secret beside it).
  Certificate certificate;
  std::filesystem::path certificate_file;
  std::vector<std::string> groups;
  std::string name;  // shown in the broker's logs
  // The constructor waits this long for the broker to accept the session and all joins.
  std::chrono::milliseconds connect_timeout{10000};
  // stop() waits this long for the broker to confirm it handled everything sent before.
  std::chrono::milliseconds stop_timeout{5000};
};

}  // namespace zrelay
