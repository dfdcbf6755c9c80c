#pragma once
#include <filesystem>

namespace zrelay::testing {

// The permission bits of `path` as an octal number (0600, 0700, ...); 0 if it does not exist.
inline unsigned mode_of(const std::filesystem::path& path) {
  std::error_code ec;
  const auto perms = std::filesystem::status(path, ec).permissions() & std::filesystem::perms::mask;
  return ec ? 0u : static_cast<unsigned>(perms);
}

}  // namespace zrelay::testing
