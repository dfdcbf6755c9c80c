#pragma once
// The broker's embedded defaults: a private state directory holding its key pair, the
// directory of authorized client certificates, and a first client key pair to start with.
#include <filesystem>

#include <zrelay/certificate.hpp>

namespace zrelay::broker {

class StateDir {
 public:
  // $ZRELAY_STATE_DIR, else $XDG_STATE_HOME/zrelay, else $HOME/.local/state/zrelay.
  [[nodiscard]] static std::filesystem::path default_path();

  // Creates the directory (mode 0700) if needed.
  explicit StateDir(std::filesystem::path root);

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }
  // `broker` and `broker_secret`: loaded, or generated on first use.
  [[nodiscard]] Certificate broker_certificate() const;
  [[nodiscard]] std::filesystem::path broker_certificate_path() const { return root_ / "broker"; }
  // `authorized_keys/`, created if needed.
  [[nodiscard]] std::filesystem::path authorized_keys_dir() const;
  // `client` and `client_secret`, authorized in authorized_keys/: generated on first use.
  // Returns true if they were generated now.
  bool ensure_client_certificate() const;
  [[nodiscard]] std::filesystem::path client_certificate_path() const { return root_ / "client"; }

 private:
  std::filesystem::path root_;
};

}  // namespace zrelay::broker
