#pragma once
// The CURVE public keys allowed to connect, each with a name for logs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>

#include <zrelay/certificate.hpp>

namespace zrelay::auth {

class AllowList {
 public:
  AllowList() = default;

  // Every public certificate file in `dir`, named by its "name" metadata or else its file name.
  // Dotfiles, subdirectories and NAME_secret files are skipped. Fails closed: any other file that
  // does not load throws Error(ErrorCode::certificate).
  [[nodiscard]] static AllowList load_directory(const std::filesystem::path& dir);

  // Named by the certificate's "name" metadata, else by its public key.
  void add(const Certificate& certificate);
  void add(const Certificate& certificate, std::string name);

  // The name of an allowed key, or nullopt if the key is not allowed.
  [[nodiscard]] std::optional<std::string> find(std::span<const std::uint8_t, 32> public_key) const;
  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
  [[nodiscard]] bool empty() const noexcept { return names_.empty(); }

 private:
  std::map<Certificate::KeyBytes, std::string> names_;
};

}  // namespace zrelay::auth
