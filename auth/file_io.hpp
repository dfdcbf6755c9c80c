#pragma once
// Small POSIX file helpers for certificate files: reads that report the mode of what was read,
// and atomic writes that never expose a secret with a wider mode.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace zrelay::auth {

struct FileText {
  std::string text;
  mode_t mode = 0;  // permission bits of the file that was read (not of a symlink to it)
};

// Reads at most `max_size` + 1 bytes of a regular file, so callers can detect oversized files.
// Returns nullopt if the file does not exist; throws Error(ErrorCode::io) on other failures.
[[nodiscard]] std::optional<FileText> read_text_file(const std::filesystem::path& path, std::size_t max_size);

// What write_file_atomically does when `path` exists.
enum class Existing { replace, refuse };

// Writes a new file under a temporary dot-name in the same directory, created with O_EXCL and
// `mode`, then renames it over `path` (Existing::replace) or links it there, which fails if
// `path` exists, even if it appeared a moment ago (Existing::refuse: Error(io), "already exists").
void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode,
                           Existing existing = Existing::replace);

}  // namespace zrelay::auth
