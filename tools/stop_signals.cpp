#include "tools/stop_signals.hpp"

#include <ctime>

#include <pthread.h>

namespace zrelay::cli {

StopSignals::StopSignals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

bool StopSignals::requested() {
  const timespec no_wait{0, 0};
  if (!requested_ && sigtimedwait(&signals_, nullptr, &no_wait) > 0) requested_ = true;
  return requested_;
}

}  // namespace zrelay::cli
