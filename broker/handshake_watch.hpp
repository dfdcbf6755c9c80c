#pragma once
// Turns libzmq socket-monitor events of the broker's ROUTER into log lines about connections that
// never authenticated: garbage, a wrong mechanism, a broken CURVE handshake. libzmq reports no
// failure event for most of these, only a connection accepted and then closed without a
// successful handshake. ZAP refusals are logged by the ZAP handler and left out here.
//
// libzmq 4.3.4 gives ACCEPTED and DISCONNECTED the connection's descriptor, but HANDSHAKE_SUCCEEDED
// only a 0: it does not say which connection succeeded. So on each success the watch asks which
// pending connections got past the broker's WELCOME (a question about the socket, `Progress`);
// those authenticated or were refused by ZAP, which logs it. A success it cannot place (the
// connection already closed) excuses the next pending connection to close.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace zrelay::broker {

class HandshakeWatch {
 public:
  // True if the connection on descriptor `fd` got past the CURVE WELCOME (its peer sent a valid
  // HELLO). False if it did not, or if the descriptor is closed.
  using Progress = std::function<bool(int fd)>;

  explicit HandshakeWatch(Progress past_welcome = &HandshakeWatch::past_welcome);

  // The events to ask zmq_socket_monitor for.
  static int events();

  // One monitor event: its id, its value (a descriptor, or an error code) and, for an accepted
  // connection, the peer's address. Returns a line to log, if the event ends a connection
  // that did not authenticate.
  [[nodiscard]] std::optional<std::string> on_event(std::uint16_t id, std::uint32_t value, const std::string& peer);

  // The address of the peer of descriptor `fd` ("?" if it is gone already).
  [[nodiscard]] static std::string peer_of(int fd);

  // From the kernel's TCP counters: the broker sent this connection more than a ZMTP greeting
  // and a CURVE WELCOME, and the peer acknowledged it.
  [[nodiscard]] static bool past_welcome(int fd);

 private:
  void settle_pending();

  Progress past_welcome_;
  std::map<std::uint32_t, std::string> pending_;  // accepted, not yet through the handshake: fd -> peer
  std::uint64_t unplaced_successes_ = 0;
};

}  // namespace zrelay::broker
