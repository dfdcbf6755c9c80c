#pragma once
// A CURVE key pair with metadata, stored in CZMQ's zcert file format: a public file NAME and,
// for a full certificate, a secret file NAME_secret (mode 0600) holding both keys.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zrelay {

class Certificate {
 public:
  using KeyBytes = std::array<std::uint8_t, 32>;

  // An empty certificate: no keys. Useful only as a placeholder to assign to.
  Certificate() = default;

  // A new random key pair.
  [[nodiscard]] static Certificate generate();
  // Keys in Z85 (40 characters for 32 bytes); a secret key must be the one of `public_z85`.
  [[nodiscard]] static Certificate from_keys(std::string public_z85, std::string secret_z85 = {});

  // Like CZMQ's zcert_load: the file at `path`, with the secret key from the file itself or else
  // from `path`_secret if that exists. A file holding a secret key must not be accessible by
  // group or others.
  [[nodiscard]] static Certificate load(const std::filesystem::path& path);
  // The public key and metadata of the file at `path`; `path`_secret is not read.
  [[nodiscard]] static Certificate load_public(const std::filesystem::path& path);

  // Writes the public file at `public_path` and, if there is a secret key, `public_path`_secret.
  void save(const std::filesystem::path& public_path) const;
  // The same, but never replaces a file: if either exists, even one created a moment ago by
  // another process, nothing is left behind and Error(io) says "already exists".
  void save_new(const std::filesystem::path& public_path) const;
  void save_public(const std::filesystem::path& path) const;
  // Writes both keys to `path` with mode 0600; throws if there is no secret key.
  void save_secret(const std::filesystem::path& path) const;

  [[nodiscard]] const std::string& public_key() const noexcept { return public_z85_; }
  [[nodiscard]] const std::string& secret_key() const noexcept { return secret_z85_; }
  [[nodiscard]] bool has_secret() const noexcept { return !secret_z85_.empty(); }
  [[nodiscard]] bool empty() const noexcept { return public_z85_.empty(); }
  [[nodiscard]] const KeyBytes& public_key_bytes() const noexcept { return public_bytes_; }

  [[nodiscard]] std::optional<std::string> meta(std::string_view key) const;
  // Keys use ZPL name characters (letters, digits, $-_@.&+/); values are one line of text.
  void set_meta(std::string_view key, std::string_view value);
  [[nodiscard]] std::string name() const { return meta("name").value_or(std::string()); }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& metadata() const noexcept {
    return metadata_;
  }

 private:
  [[nodiscard]] std::string to_text(bool with_secret) const;

  std::string public_z85_;
  std::string secret_z85_;
  KeyBytes public_bytes_{};
  std::vector<std::pair<std::string, std::string>> metadata_;  // in insertion order
};

}  // namespace zrelay
