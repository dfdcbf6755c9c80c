#pragma once
// The CURVE public keys allowed to connect, each with a name for logs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include <zrelay/certificate.hpp>

#include "auth/identity.hpp"

namespace zrelay::auth {

class AllowList {
 public:
  AllowList() = default;

  // Every public certificate file in `dir`, named by its "name" metadata or else its file name.
  // Dotfiles, subdirectories and NAME_secret files are skipped. Fails closed: any other file that
  // does not load throws Error(ErrorCode::certificate).
  [[nodiscard]] static AllowList load_directory(const std::filesystem::path& dir);

  // Named by the certificate's "name" metadata, else by its public key. A key already allowed,
  // or a name another key has, throws Error(ErrorCode::certificate).
  void add(const Certificate& certificate);
  void add(const Certificate& certificate, std::string name);

  // The name of an allowed key, or nullopt if the key is not allowed.
  [[nodiscard]] std::optional<std::string> find(std::span<const std::uint8_t, 32> public_key) const;
  // Who the key (Z85) is, or null if it is not allowed (or not a key).
  [[nodiscard]] const Identity* identify(std::string_view key_z85) const;
  [[nodiscard]] std::size_t size() const noexcept { return identities_.size(); }
  [[nodiscard]] bool empty() const noexcept { return identities_.empty(); }

 private:
  std::map<Certificate::KeyBytes, Identity> identities_;
  std::set<std::string> names_;
};

}  // namespace zrelay::auth
