#include <zrelay/connection.hpp>

namespace zrelay {

std::string_view to_string(ConnectionState state) noexcept {
  switch (state) {
    case ConnectionState::connecting: return "connecting";
    case ConnectionState::connected: return "connected";
    case ConnectionState::reconnecting: return "reconnecting";
    case ConnectionState::stopping: return "stopping";
    case ConnectionState::stopped: return "stopped";
    case ConnectionState::failed: return "failed";
  }
  return "unknown";
}

}  // namespace zrelay
