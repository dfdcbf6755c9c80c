#include <zrelay/error.hpp>

namespace zrelay {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::malformed_message: return "malformed_message";
    case ErrorCode::bad_version: return "bad_version";
    case ErrorCode::hello_expected: return "hello_expected";
    case ErrorCode::unknown_group: return "unknown_group";
    case ErrorCode::group_full: return "group_full";
    case ErrorCode::queue_full: return "queue_full";
    case ErrorCode::item_dropped: return "item_dropped";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::not_member: return "not_member";
    case ErrorCode::too_many_groups: return "too_many_groups";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_authorized: return "not_authorized";
    case ErrorCode::internal: return "internal";
    case ErrorCode::over_budget: return "over_budget";
    case ErrorCode::storage_failed: return "storage_failed";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::connection_failed: return "connection_failed";
    case ErrorCode::closed: return "closed";
    case ErrorCode::decode_failed: return "decode_failed";
    case ErrorCode::type_mismatch: return "type_mismatch";
    case ErrorCode::certificate: return "certificate";
    case ErrorCode::configuration: return "configuration";
    case ErrorCode::io: return "io";
  }
  return "unknown";
}

}  // namespace zrelay
