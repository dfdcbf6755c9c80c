#include "broker/state_dir.hpp"

#include <cstdlib>
#include <system_error>

#include <zrelay/error.hpp>

namespace zrelay::broker {
namespace fs = std::filesystem;
namespace {

void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  const bool created = fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::io, "cannot create " + dir.string() + ": " + ec.message());
  if (!created) return;  // an existing directory keeps the mode its owner gave it
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) throw Error(ErrorCode::io, "cannot set mode 0700 on " + dir.string() + ": " + ec.message());
}

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace

fs::path StateDir::default_path() {
  if (const char* dir = env("ZRELAY_STATE_DIR")) return dir;
  if (const char* dir = env("XDG_STATE_HOME")) return fs::path(dir) / "zrelay";
  if (const char* home = env("HOME")) return fs::path(home) / ".local" / "state" / "zrelay";
  throw Error(ErrorCode::configuration, "no state directory: set ZRELAY_STATE_DIR or HOME");
}

StateDir::StateDir(fs::path root) : root_(std::move(root)) { make_private_dir(root_); }

Certificate StateDir::broker_certificate() const {
  const fs::path path = broker_certificate_path();
  if (fs::exists(path)) return Certificate::load(path);
  Certificate certificate = Certificate::generate();
  certificate.set_meta("name", "zrelay-broker");
  certificate.save(path);
  return certificate;
}

fs::path StateDir::authorized_keys_dir() const {
  const fs::path dir = root_ / "authorized_keys";
  make_private_dir(dir);
  return dir;
}

bool StateDir::ensure_client_certificate() const {
  const fs::path path = client_certificate_path();
  if (fs::exists(path)) return false;
  Certificate certificate = Certificate::generate();
  certificate.set_meta("name", "client");
  certificate.save(path);
  certificate.save_public(authorized_keys_dir() / "client");
  return true;
}

}  // namespace zrelay::broker
