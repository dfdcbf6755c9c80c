// zrelay-keygen: writes a new CURVE key pair as CZMQ-compatible certificates DIR/NAME (public)
// and DIR/NAME_secret (mode 0600).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>

#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <zrelay/certificate.hpp>
#include <zrelay/error.hpp>

namespace {
namespace fs = std::filesystem;

// sysexits.h codes
constexpr int exit_usage = 64;
constexpr int exit_software = 70;
constexpr int exit_cantcreat = 73;
constexpr int exit_ioerr = 74;

struct Arguments {
  std::string name;
  std::string dir = ".";
  bool force = false;
  std::string meta_name;
};

struct Failure {
  int exit_code;
  std::string message;
};

void check_name(const std::string& name) {
  if (name.empty()) throw Failure{exit_usage, "NAME must not be empty"};
  if (name.find('/') != std::string::npos) throw Failure{exit_usage, "NAME must not contain '/' (use --dir)"};
  if (name.front() == '.') throw Failure{exit_usage, "NAME must not start with '.' (dotfiles are not loaded as keys)"};
  if (name.size() >= 7 && name.compare(name.size() - 7, 7, "_secret") == 0) {
    throw Failure{exit_usage, "NAME must not end with '_secret' (that suffix marks secret files)"};
  }
}

bool entry_exists(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() != fs::file_type::not_found;
}

// Creates each missing directory of `dir` with mode 0700: they will hold a secret key.
void make_private_directories(const fs::path& dir) {
  fs::path partial;
  for (const fs::path& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) continue;
    throw Failure{exit_cantcreat, "cannot create directory '" + partial.string() + "': " + std::strerror(errno)};
  }
  if (!fs::is_directory(dir)) throw Failure{exit_cantcreat, "'" + dir.string() + "' is not a directory"};
}

void refuse_overwrite(const fs::path& path) {
  if (entry_exists(path)) throw Failure{exit_cantcreat, "'" + path.string() + "' already exists (use --force to replace it)"};
}

int run(const Arguments& args) {
  check_name(args.name);
  if (args.dir.empty()) throw Failure{exit_usage, "--dir must not be empty"};
  const fs::path public_path = fs::path(args.dir) / args.name;
  const fs::path secret_path = fs::path(args.dir) / (args.name + "_secret");
  if (!args.force) {
    refuse_overwrite(public_path);
    refuse_overwrite(secret_path);
  }
  zrelay::Certificate certificate = zrelay::Certificate::generate();
  try {
    certificate.set_meta("name", args.meta_name.empty() ? args.name : args.meta_name);
  } catch (const zrelay::Error& e) {
    throw Failure{exit_usage, std::string("--name: ") + e.what()};
  }
  make_private_directories(args.dir);
  if (args.force) {
    certificate.save(public_path);
  } else {
    try {
      certificate.save_new(public_path);  // closes the window between the check above and the write
    } catch (const zrelay::Error& e) {
      throw Failure{exit_cantcreat, std::string(e.what()) + " (use --force to replace it)"};
    }
  }
  std::cout << "public key:         " << certificate.public_key() << "\n"
            << "public certificate: " << public_path.string() << "\n"
            << "secret certificate: " << secret_path.string() << " (mode 0600, keep it private)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  CLI::App app("zrelay-keygen: create a CURVE key pair as certificate files NAME and NAME_secret");
  app.add_option("NAME", args.name, "file name of the public certificate; the secret one is NAME_secret")->required();
  app.add_option("--dir", args.dir, "directory for both files (created with mode 0700 if missing)")
      ->capture_default_str();
  app.add_flag("--force", args.force, "replace existing certificate files");
  app.add_option("--name", args.meta_name, "the certificate's \"name\" metadata (default: NAME)");
  app.set_version_flag("--version", "zrelay-keygen " ZRELAY_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  try {
    return run(args);
  } catch (const Failure& failure) {
    std::cerr << "zrelay-keygen: " << failure.message << "\n";
    return failure.exit_code;
  } catch (const zrelay::Error& e) {
    std::cerr << "zrelay-keygen: " << e.what() << "\n";
    return e.code() == zrelay::ErrorCode::io ? exit_ioerr : exit_software;
  } catch (const std::exception& e) {
    std::cerr << "zrelay-keygen: " << e.what() << "\n";
    return exit_software;
  }
}
