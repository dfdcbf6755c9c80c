#include "auth/file_io.hpp"

#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zrelay/error.hpp>

namespace zrelay::auth {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path, int error) {
  throw Error(ErrorCode::io, "cannot " + what + " '" + path.string() + "': " + std::strerror(error));
}

std::filesystem::path temporary_name(const std::filesystem::path& path) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::string suffix = std::to_string(::getpid()) + "-" + std::to_string(random());
  return path.parent_path() / ("." + path.filename().string() + ".tmp-" + suffix);
}

void write_all(int fd, std::string_view content, const std::filesystem::path& path) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail("write", path, errno);
    content.remove_prefix(static_cast<std::size_t>(written));
  }
}

FileDescriptor create_exclusive(std::filesystem::path& temp, const std::filesystem::path& path, mode_t mode) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    temp = temporary_name(path);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) return FileDescriptor(fd);
    if (errno != EEXIST) fail("create a file beside", path, errno);
  }
  fail("create a unique temporary file beside", path, EEXIST);
}

void sync_directory(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());  // best effort: the rename already happened
}

[[noreturn]] void not_regular(const std::filesystem::path& path) {
  throw Error(ErrorCode::io, "cannot read '" + path.string() + "': not a regular file");
}

}  // namespace

std::optional<FileText> read_text_file(const std::filesystem::path& path, std::size_t max_size) {
  // A FIFO or a device is refused before it is opened: opening a FIFO blocks until a writer
  // comes, opening a device may act on it. O_NONBLOCK covers a swap between stat and open.
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) {
    if (!S_ISREG(status.st_mode)) not_regular(path);
  } else if (errno == ENOENT) {
    return std::nullopt;
  }  // any other error: open() reports it
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0 && errno == ENOENT) return std::nullopt;
  if (fd.get() < 0) fail("open", path, errno);
  if (::fstat(fd.get(), &status) != 0) fail("stat", path, errno);
  if (!S_ISREG(status.st_mode)) not_regular(path);
  FileText file{std::string(max_size + 1, '\0'), static_cast<mode_t>(status.st_mode & 07777)};
  std::size_t filled = 0;
  while (filled < file.text.size()) {
    const ssize_t got = ::read(fd.get(), file.text.data() + filled, file.text.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("read", path, errno);
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  file.text.resize(filled);
  return file;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode,
                           Existing existing) {
  std::filesystem::path temp;
  FileDescriptor fd = create_exclusive(temp, path, mode);
  try {
    write_all(fd.get(), content, path);
    if (::fsync(fd.get()) != 0) fail("sync", path, errno);
    if (::close(fd.release()) != 0) fail("close", path, errno);
    if (existing == Existing::replace) {
      if (::rename(temp.c_str(), path.c_str()) != 0) fail("rename a temporary file to", path, errno);
    } else {
      if (::link(temp.c_str(), path.c_str()) != 0) {
        if (errno == EEXIST) throw Error(ErrorCode::io, "'" + path.string() + "' already exists");
        fail("link a temporary file to", path, errno);
      }
      ::unlink(temp.c_str());
    }
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  sync_directory(path);
}

}  // namespace zrelay::auth
