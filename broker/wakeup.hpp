#pragma once
// A file descriptor the broker loop polls, signalled from any thread (libzmq's I/O thread, when
// it released a chunk): the loop sends a stream's next chunk when its connection took the last,
// not at the next timer tick. Move-only.
namespace zrelay::broker {

class Wakeup {
 public:
  Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  ~Wakeup();

  [[nodiscard]] int fd() const noexcept { return fd_; }
  // Thread-safe; signals pile up into one.
  void signal() const noexcept;
  // Called by the loop before it looks at what the signals were for.
  void clear() const noexcept;

 private:
  int fd_ = -1;
};

}  // namespace zrelay::broker
