#include "broker/handshake_watch.hpp"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdio>
#include <utility>

#include <zmq.h>

namespace zrelay::broker {
namespace {

// What the broker sends before it has seen a valid HELLO: its 64-byte greeting. A WELCOME
// command adds 170 bytes (168-byte body, 2-byte header).
constexpr std::uint64_t greeting_and_welcome_bytes = 64 + 170;

}  // namespace

HandshakeWatch::HandshakeWatch(Progress past_welcome) : past_welcome_(std::move(past_welcome)) {}

int HandshakeWatch::events() {
  return ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED;
}

std::optional<std::string> HandshakeWatch::on_event(std::uint16_t id, std::uint32_t value, const std::string& peer) {
  switch (id) {
    case ZMQ_EVENT_ACCEPTED:
      pending_.insert_or_assign(value, peer);  // a descriptor is reused only after its close
      return std::nullopt;
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:  // the ZAP handler logged it, with the key
      settle_pending();
      return std::nullopt;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      return "a connection failed the handshake: ZMTP/CURVE protocol error 0x" + [&] {
        char hex[16];
        std::snprintf(hex, sizeof hex, "%x", value);
        return std::string(hex);
      }();
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      return std::string("a connection failed the handshake: ") + zmq_strerror(static_cast<int>(value));
    case ZMQ_EVENT_DISCONNECTED: {
      const auto it = pending_.find(value);
      if (it == pending_.end()) return std::nullopt;
      if (unplaced_successes_ > 0) {  // most likely the one that succeeded and closed at once
        --unplaced_successes_;
        pending_.erase(it);
        return std::nullopt;
      }
      std::string line = "a connection from " + it->second + " closed before completing the handshake";
      pending_.erase(it);
      return line;
    }
    default:
      return std::nullopt;
  }
}

void HandshakeWatch::settle_pending() {
  const std::size_t before = pending_.size();
  std::erase_if(pending_, [&](const auto& entry) { return past_welcome_(static_cast<int>(entry.first)); });
  if (pending_.size() == before) ++unplaced_successes_;
}

bool HandshakeWatch::past_welcome(int fd) {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return false;
  if (size < offsetof(tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) return false;
  return info.tcpi_bytes_acked > greeting_and_welcome_bytes;
}

std::string HandshakeWatch::peer_of(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
    port = ntohs(in->sin6_port);
  } else {
    return "?";
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace zrelay::broker
