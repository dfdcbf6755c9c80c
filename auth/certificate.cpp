#include <zrelay/certificate.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <zmq.h>

#include <zrelay/error.hpp>

#include "auth/certificate_text.hpp"
#include "auth/file_io.hpp"
#include "auth/zpl_reader.hpp"

namespace zrelay {
namespace {

using KeyBytes = Certificate::KeyBytes;

constexpr std::size_t z85_key_length = 40;
constexpr std::size_t max_meta_length = 900;  // CZMQ reads at most 1024 characters of a line
// CZMQ writes 32 zero bytes as the secret key of a certificate that has none.
constexpr std::string_view null_key_z85 = "0000000000000000000000000000000000000000";

std::string encode_key(const KeyBytes& key) {
  char text[z85_key_length + 1] = {};
  zmq_z85_encode(text, key.data(), key.size());
  return text;
}

// Only the canonical encoding is accepted: Z85 groups above 2^32 would wrap silently.
std::optional<KeyBytes> decode_key(const std::string& z85) {
  if (z85.size() != z85_key_length) return std::nullopt;
  KeyBytes key{};
  if (zmq_z85_decode(key.data(), z85.c_str()) == nullptr) return std::nullopt;
  if (encode_key(key) != z85) return std::nullopt;
  return key;
}

std::string public_of_secret(const std::string& secret_z85) {
  char derived[z85_key_length + 1] = {};
  if (zmq_curve_public(derived, secret_z85.c_str()) != 0) {
    throw Error(ErrorCode::configuration, std::string("cannot derive a CURVE public key: ") + zmq_strerror(errno));
  }
  return derived;
}

bool is_valid_meta_key(std::string_view key) {
  return !key.empty() && key.front() != '/' && key.back() != '/' &&
         std::all_of(key.begin(), key.end(), auth::ZplReader::is_name_char);
}

std::string quoted(const std::string& value) {
  const char quote = value.find('"') == std::string::npos ? '"' : '\'';
  if (value.find(quote) != std::string::npos) {
    throw Error(ErrorCode::configuration, "metadata value holds both kinds of quotes: " + value);
  }
  return quote + value + quote;
}

std::string timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32] = {};
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

std::filesystem::path secret_path_of(const std::filesystem::path& public_path) {
  return std::filesystem::path(public_path.string() + "_secret");
}

class CertificateFileReader {
 public:
  explicit CertificateFileReader(const std::filesystem::path& path) : path_(path), source_(path.string()) {}

  // nullopt if the file does not exist.
  std::optional<auth::CertificateText> read() const {
    std::optional<auth::FileText> file = auth::read_text_file(path_, auth::max_certificate_text);
    if (!file) return std::nullopt;
    auth::CertificateText result = auth::parse_certificate_text(file->text, source_);
    if (!result.secret_z85.empty()) check_private(file->mode);
    return result;
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw Error(ErrorCode::certificate, source_ + ": " + message);
  }

 private:
  void check_private(mode_t mode) const {
    if ((mode & 077) == 0) return;
    char octal[16] = {};
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode & 07777));
    fail("holds a secret key but has mode " + std::string(octal) +
         " (accessible by group or others); make it private with: chmod 600 '" + source_ + "'");
  }

  std::filesystem::path path_;
  std::string source_;
};

auth::CertificateText read_required(const std::filesystem::path& path) {
  std::optional<auth::CertificateText> file = CertificateFileReader(path).read();
  if (!file) throw Error(ErrorCode::certificate, "certificate file '" + path.string() + "' not found");
  return std::move(*file);
}

Certificate certificate_of(auth::CertificateText file, const std::filesystem::path& path) {
  return auth::to_certificate(std::move(file), path.string());
}

}  // namespace

Certificate Certificate::generate() {
  char public_z85[z85_key_length + 1] = {};
  char secret_z85[z85_key_length + 1] = {};
  if (zmq_curve_keypair(public_z85, secret_z85) != 0) {
    throw Error(ErrorCode::configuration, std::string("cannot generate a CURVE key pair: ") + zmq_strerror(errno));
  }
  return from_keys(public_z85, secret_z85);
}

Certificate Certificate::from_keys(std::string public_z85, std::string secret_z85) {
  const std::optional<KeyBytes> public_bytes = decode_key(public_z85);
  if (!public_bytes) {
    throw Error(ErrorCode::certificate, "public key is not a valid Z85 CURVE key (40 characters encoding 32 bytes)");
  }
  if (!secret_z85.empty()) {
    if (!decode_key(secret_z85)) {
      throw Error(ErrorCode::certificate, "secret key is not a valid Z85 CURVE key (40 characters encoding 32 bytes)");
    }
    if (public_of_secret(secret_z85) != public_z85) {
      throw Error(ErrorCode::certificate, "secret key does not belong to public key " + public_z85);
    }
  }
  Certificate certificate;
  certificate.public_z85_ = std::move(public_z85);
  certificate.secret_z85_ = std::move(secret_z85);
  certificate.public_bytes_ = *public_bytes;
  return certificate;
}

Certificate Certificate::load(const std::filesystem::path& path) {
  auth::CertificateText main = read_required(path);
  if (!main.secret_z85.empty()) return certificate_of(std::move(main), path);

  const std::filesystem::path secret_path = secret_path_of(path);
  const CertificateFileReader secret_reader(secret_path);
  std::optional<auth::CertificateText> secret = secret_reader.read();
  if (!secret) return certificate_of(std::move(main), path);
  if (secret->secret_z85.empty()) secret_reader.fail("has no secret-key");
  if (secret->public_z85 != main.public_z85) {
    secret_reader.fail("its public-key differs from the one in '" + path.string() + "'");
  }
  // Like zcert_load, the secret file is the certificate; the public file only had to agree.
  return certificate_of(std::move(*secret), secret_path);
}

Certificate Certificate::load_public(const std::filesystem::path& path) {
  auth::CertificateText file = read_required(path);
  file.secret_z85.clear();
  return certificate_of(std::move(file), path);
}

void Certificate::save(const std::filesystem::path& public_path) const {
  save_public(public_path);
  if (has_secret()) save_secret(secret_path_of(public_path));
}

void Certificate::save_new(const std::filesystem::path& public_path) const {
  if (empty()) throw Error(ErrorCode::certificate, "cannot save an empty certificate to '" + public_path.string() + "'");
  const std::filesystem::path secret_path = secret_path_of(public_path);
  // The secret first: a public file never names a key pair whose secret went elsewhere.
  if (has_secret()) auth::write_file_atomically(secret_path, to_text(true), 0600, auth::Existing::refuse);
  try {
    auth::write_file_atomically(public_path, to_text(false), 0644, auth::Existing::refuse);
  } catch (...) {
    if (has_secret()) std::filesystem::remove(secret_path);
    throw;
  }
}

void Certificate::save_public(const std::filesystem::path& path) const {
  if (empty()) throw Error(ErrorCode::certificate, "cannot save an empty certificate to '" + path.string() + "'");
  auth::write_file_atomically(path, to_text(false), 0644);
}

void Certificate::save_secret(const std::filesystem::path& path) const {
  if (!has_secret()) {
    throw Error(ErrorCode::certificate, "cannot save '" + path.string() + "': the certificate has no secret key");
  }
  auth::write_file_atomically(path, to_text(true), 0600);
}

std::optional<std::string> Certificate::meta(std::string_view key) const {
  auto found = std::find_if(metadata_.begin(), metadata_.end(), [&](const auto& item) { return item.first == key; });
  if (found == metadata_.end()) return std::nullopt;
  return found->second;
}

void Certificate::set_meta(std::string_view key, std::string_view value) {
  if (!is_valid_meta_key(key)) {
    throw Error(ErrorCode::configuration, "invalid metadata key '" + std::string(key) +
                                              "' (use letters, digits and $-_@.&+/)");
  }
  if (value.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos ||
      key.size() + value.size() > max_meta_length) {
    throw Error(ErrorCode::configuration, "invalid value for metadata '" + std::string(key) +
                                              "' (one line of at most 900 characters)");
  }
  auto found = std::find_if(metadata_.begin(), metadata_.end(), [&](const auto& item) { return item.first == key; });
  if (found != metadata_.end()) {
    found->second = value;
  } else {
    metadata_.emplace_back(key, value);
  }
}

std::string Certificate::to_text(bool with_secret) const {
  std::string text = "#   ****  Generated on " + timestamp() + " by zrelay  ****\n";
  text += with_secret ? "#   ZeroMQ CURVE **Secret** Certificate\n"
                        "#   Keep this file private (mode 0600): it holds the secret key.\n"
                      : "#   ZeroMQ CURVE Public Certificate\n"
                        "#   Give this file to the peers that are to trust this key.\n";
  text += "\nmetadata\n";
  for (const auto& [key, value] : metadata_) text += "    " + key + " = " + quoted(value) + "\n";
  text += "curve\n    public-key = \"" + public_z85_ + "\"\n";
  if (with_secret) text += "    secret-key = \"" + secret_z85_ + "\"\n";
  return text;
}

namespace auth {
namespace {

// Reads one certificate text, checked for syntax and key validity.
class CertificateTextReader {
 public:
  explicit CertificateTextReader(const std::string& source) : source_(source) {}

  CertificateText read(std::string_view text) const {
    if (text.size() > max_certificate_text) fail("file too large to be a certificate");
    const ZplNode root = ZplReader(source_).parse(text);
    CertificateText result;
    result.metadata = read_metadata(root);
    const ZplNode& curve = single_section(root, "curve");
    result.public_z85 = read_key(curve, "public-key").value_or(std::string());
    if (result.public_z85.empty()) fail(curve.line, "'curve' section has no public-key");
    const std::optional<std::string> secret = read_key(curve, "secret-key");
    if (secret) {
      if (public_of_secret(*secret) != result.public_z85) {
        fail(curve.child("secret-key")->line, "secret-key does not belong to the public-key of this file");
      }
      result.secret_z85 = *secret;
    }
    return result;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Error(ErrorCode::certificate, source_ + ": " + message);
  }
  [[noreturn]] void fail(int line, const std::string& message) const {
    throw Error(ErrorCode::certificate, source_ + ":" + std::to_string(line) + ": " + message);
  }

  const ZplNode& single_section(const ZplNode& root, std::string_view name) const {
    const ZplNode* section = root.child(name);
    if (section == nullptr) fail("no '" + std::string(name) + "' section (not a CURVE certificate)");
    if (root.count(name) > 1) fail("more than one '" + std::string(name) + "' section");
    return *section;
  }

  // nullopt if absent (or CZMQ's all-zero placeholder); throws if present but invalid.
  std::optional<std::string> read_key(const ZplNode& curve, std::string_view name) const {
    const ZplNode* key = curve.child(name);
    if (key == nullptr) return std::nullopt;
    if (curve.count(name) > 1) fail(key->line, "more than one " + std::string(name));
    if (key->value == null_key_z85) return std::nullopt;
    if (!decode_key(key->value)) {
      fail(key->line, std::string(name) + " is not a valid Z85 CURVE key (40 characters encoding 32 bytes)");
    }
    return key->value;
  }

  std::vector<std::pair<std::string, std::string>> read_metadata(const ZplNode& root) const {
    std::vector<std::pair<std::string, std::string>> metadata;
    const ZplNode* section = root.child("metadata");
    if (section == nullptr) return metadata;
    if (root.count("metadata") > 1) fail("more than one 'metadata' section");
    for (const ZplNode& item : section->children) {
      if (section->count(item.name) > 1) fail(item.line, "metadata '" + item.name + "' appears more than once");
      metadata.emplace_back(item.name, item.value);
    }
    return metadata;
  }

  const std::string& source_;
};

}  // namespace

CertificateText parse_certificate_text(std::string_view text, const std::string& source) {
  return CertificateTextReader(source).read(text);
}

Certificate to_certificate(CertificateText text, const std::string& source) {
  Certificate certificate = Certificate::from_keys(std::move(text.public_z85), std::move(text.secret_z85));
  try {
    for (const auto& [key, value] : text.metadata) certificate.set_meta(key, value);
  } catch (const Error& e) {
    throw Error(ErrorCode::certificate, source + ": " + e.what());
  }
  return certificate;
}

}  // namespace auth
}  // namespace zrelay
