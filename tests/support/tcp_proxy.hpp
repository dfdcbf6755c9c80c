#pragma once
// A TCP proxy on 127.0.0.1 (OS-chosen port) in front of another local port, for tests that need
// the outside world: it can cut every connection at once (a connection blip; new connections
// are accepted again right after), throttle each direction to a rate in bytes per second (a
// slow link), and keep every byte that crossed it (what an on-path observer sees). One thread
// with poll(); each direction of each connection is forwarded as the far side takes it.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace zrelay::testing {

class TcpProxy {
 public:
  explicit TcpProxy(std::uint16_t target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // "tcp://127.0.0.1:<port>", for EndpointOptions::broker.
  [[nodiscard]] std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

  // Closes every connection open now (both sides see a reset or an end of stream).
  void cut();
  // Bytes per second in each direction of each connection; 0 = as fast as the sockets go.
  void set_rate(std::uint64_t bytes_per_second) noexcept { rate_.store(bytes_per_second); }
  // Every byte that crossed the proxy so far, both directions appended as they came.
  [[nodiscard]] std::string seen() const;
  // Connections accepted so far.
  [[nodiscard]] std::uint64_t accepted() const noexcept { return accepted_.load(); }

 private:
  void run();

  int listener_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: a byte in it makes the thread look at cut_ and stop_
  std::uint16_t target_port_;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> rate_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<unsigned> cuts_{0};       // asked for
  std::atomic<unsigned> cuts_done_{0};  // carried out by the thread
  std::atomic<bool> stop_{false};
  mutable std::mutex seen_mutex_;
  std::string seen_;
  std::thread thread_;
};

}  // namespace zrelay::testing
