#include "tools/cli_failure.hpp"

namespace zrelay::cli {
namespace {

int exit_code_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return exit_code::usage;
    case ErrorCode::too_large: return exit_code::data;
    case ErrorCode::not_authorized: return exit_code::no_permission;
    case ErrorCode::certificate:
    case ErrorCode::configuration: return exit_code::config;
    case ErrorCode::io: return exit_code::io;
    case ErrorCode::timeout:
    case ErrorCode::connection_failed:
    case ErrorCode::closed:
    case ErrorCode::unknown_group:
    case ErrorCode::group_full:
    case ErrorCode::too_many_groups:
    case ErrorCode::queue_full:
    case ErrorCode::item_dropped:
    case ErrorCode::over_budget:
    case ErrorCode::storage_failed:
    case ErrorCode::not_member: return exit_code::unavailable;
    default: return exit_code::software;
  }
}

}  // namespace

Failure failure_of(const Error& error) { return {exit_code_of(error.code()), error.what()}; }

}  // namespace zrelay::cli
