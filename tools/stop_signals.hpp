#pragma once
// SIGINT and SIGTERM as a request to stop that a loop polls, instead of the default of dying:
// the commands that run until interrupted stop their endpoint cleanly and exit 0.
#include <csignal>

namespace zrelay::cli {

class StopSignals {
 public:
  // Blocks both signals in the calling thread; construct it before any other thread starts, as
  // threads inherit the mask (a signal must not go to the endpoint's I/O thread and kill the process).
  StopSignals();

  // True once one of the signals came (it is taken, not left pending).
  [[nodiscard]] bool requested();

 private:
  sigset_t signals_{};
  bool requested_ = false;
};

}  // namespace zrelay::cli
