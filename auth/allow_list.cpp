#include "auth/allow_list.hpp"

#include <algorithm>
#include <system_error>
#include <vector>

#include <zrelay/error.hpp>

namespace zrelay::auth {
namespace fs = std::filesystem;
namespace {

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_candidate(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  if (name.empty() || name.front() == '.' || ends_with(name, "_secret")) return false;
  std::error_code ec;
  if (entry.is_directory(ec)) return false;
  // Anything else is loaded, so a broken symlink or a socket fails loudly instead of being skipped.
  return true;
}

std::vector<fs::path> candidate_files(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorCode::certificate, "authorized keys directory '" + dir.string() + "' does not exist or is not a directory");
  }
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (is_candidate(*it)) files.push_back(it->path());
  }
  if (ec) throw Error(ErrorCode::io, "cannot list '" + dir.string() + "': " + ec.message());
  std::sort(files.begin(), files.end());  // deterministic: the same file is reported first every time
  return files;
}

}  // namespace

AllowList AllowList::load_directory(const fs::path& dir) {
  AllowList list;
  for (const fs::path& file : candidate_files(dir)) {
    try {
      const Certificate certificate = Certificate::load_public(file);
      const std::string name = certificate.name();
      list.add(certificate, name.empty() ? file.filename().string() : name);
    } catch (const Error& e) {
      throw Error(ErrorCode::certificate, std::string("authorized key rejected: ") + e.what());
    }
  }
  return list;
}

void AllowList::add(const Certificate& certificate) {
  std::string name = certificate.name();
  add(certificate, name.empty() ? certificate.public_key() : std::move(name));
}

void AllowList::add(const Certificate& certificate, std::string name) {
  if (certificate.empty()) throw Error(ErrorCode::certificate, "cannot allow an empty certificate (no public key)");
  names_.insert_or_assign(certificate.public_key_bytes(), std::move(name));
}

std::optional<std::string> AllowList::find(std::span<const std::uint8_t, 32> public_key) const {
  Certificate::KeyBytes key{};
  std::copy(public_key.begin(), public_key.end(), key.begin());
  const auto found = names_.find(key);
  if (found == names_.end()) return std::nullopt;
  return found->second;
}

}  // namespace zrelay::auth
