#pragma once
// How the zrelay command ends when something goes wrong: a sysexits.h code and one line for stderr.
#include <string>

#include <zrelay/error.hpp>

namespace zrelay::cli {

namespace exit_code {
inline constexpr int usage = 64;        // EX_USAGE: bad arguments or options
inline constexpr int data = 65;         // EX_DATAERR: an item the broker can never take (too large)
inline constexpr int unavailable = 69;  // EX_UNAVAILABLE: no broker, or it refused something
inline constexpr int software = 70;     // EX_SOFTWARE: a fault of this program
inline constexpr int io = 74;           // EX_IOERR: stdout could not be written
inline constexpr int no_permission = 77;  // EX_NOPERM: the broker does not admit this key
inline constexpr int config = 78;       // EX_CONFIG: a key or certificate file is missing or unusable
}  // namespace exit_code

struct Failure {
  int exit_code;
  std::string message;
};

// The exit code and message for an error of the zrelay library.
[[nodiscard]] Failure failure_of(const Error& error);

}  // namespace zrelay::cli
