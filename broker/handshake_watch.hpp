#pragma once
// Turns libzmq socket-monitor events of the broker's ROUTER into log lines about connections that
// never authenticated: garbage, a wrong mechanism, a broken CURVE handshake. libzmq reports no
// failure event for most of these, only a connection accepted and then closed without a
// successful handshake. ZAP refusals are logged by the ZAP handler and left out here.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace zrelay::broker {

class HandshakeWatch {
 public:
  // The events to ask zmq_socket_monitor for.
  static int events();

  // One monitor event: its id, its value (a descriptor, or an error code) and, for an accepted
  // connection, the peer's address. Returns a line to log, if the event ends a connection
  // that did not authenticate.
  [[nodiscard]] std::optional<std::string> on_event(std::uint16_t id, std::uint32_t value, const std::string& peer);

  // The address of the peer of descriptor `fd` ("?" if it is gone already).
  [[nodiscard]] static std::string peer_of(int fd);

 private:
  std::map<std::uint32_t, std::string> pending_;  // accepted, not yet through the handshake: fd -> peer
};

}  // namespace zrelay::broker
