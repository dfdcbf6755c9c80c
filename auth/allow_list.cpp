#include "auth/allow_list.hpp"

#include <algorithm>
#include <system_error>
#include <vector>

#include <zmq.h>
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
  const auto key = certificate.public_key_bytes();
  if (const auto known = identities_.find(key); known != identities_.end()) {
    throw Error(ErrorCode::certificate, "the key of '" + name + "' is already allowed as '" + known->second.name + "'");
  }
  // Rules name clients: one name for two keys would give both the rights meant for one.
  if (!names_.insert(name).second) {
    throw Error(ErrorCode::certificate, "two allowed keys are named '" + name + "' (rules by name would match both)");
  }
  identities_.emplace(key, Identity{certificate.public_key(), std::move(name), certificate.metadata()});
}

std::optional<std::string> AllowList::find(std::span<const std::uint8_t, 32> public_key) const {
  Certificate::KeyBytes key{};
  std::copy(public_key.begin(), public_key.end(), key.begin());
  const auto found = identities_.find(key);
  if (found == identities_.end()) return std::nullopt;
  return found->second.name;
}

const Identity* AllowList::identify(std::string_view key_z85) const {
  if (key_z85.size() != 40) return nullptr;
  const std::string text(key_z85);  // zmq_z85_decode wants a terminated string
  Certificate::KeyBytes key{};
  if (zmq_z85_decode(key.data(), text.c_str()) == nullptr) return nullptr;
  const auto found = identities_.find(key);
  return found == identities_.end() || found->second.key != key_z85 ? nullptr : &found->second;
}

}  // namespace zrelay::auth
