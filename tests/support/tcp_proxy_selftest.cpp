// The test proxy itself: it forwards both ways, keeps what crossed it, cuts, and throttles.
#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace zrelay::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A listening socket on 127.0.0.1 with an OS-chosen port.
class Listener {
 public:
  Listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t length = sizeof address;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd_); }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int accept() const { return ::accept(fd_, nullptr, nullptr); }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  return fd;
}

// Reads exactly `size` bytes, waiting at most 10 s; what came, if less.
std::string read_bytes(int fd, std::size_t size) {
  std::string got;
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (got.size() < size && Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[65536];
    const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, size - got.size()), 0);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

TEST(TcpProxy, ForwardsBothWaysAndKeepsWhatCrossed) {
  Listener server;
  TcpProxy proxy(server.port());
  const int client = connect_to(proxy.port());
  const int accepted = server.accept();
  ASSERT_EQ(::send(client, "ping", 4, 0), 4);
  EXPECT_EQ(read_bytes(accepted, 4), "ping");
  ASSERT_EQ(::send(accepted, "pong", 4, 0), 4);
  EXPECT_EQ(read_bytes(client, 4), "pong");
  EXPECT_EQ(proxy.seen(), "pingpong");
  EXPECT_EQ(proxy.accepted(), 1u);
  ::close(client);
  ::close(accepted);
}

TEST(TcpProxy, CutClosesOpenConnectionsAndAcceptsNewOnes) {
  Listener server;
  TcpProxy proxy(server.port());
  const int client = connect_to(proxy.port());
  const int accepted = server.accept();
  proxy.cut();
  char byte = 0;
  EXPECT_LE(::recv(client, &byte, 1, 0), 0) << "the client sees the end of the connection";
  EXPECT_LE(::recv(accepted, &byte, 1, 0), 0) << "so does the server";
  const int again = connect_to(proxy.port());
  const int accepted_again = server.accept();
  ASSERT_EQ(::send(again, "x", 1, 0), 1);
  EXPECT_EQ(read_bytes(accepted_again, 1), "x");
  for (int fd : {client, accepted, again, accepted_again}) ::close(fd);
}

// 1000 B/s with bursts of at most a tenth of a second: 200 KB cannot have crossed by the time
// the first bytes are read, however fast the machine (a bound that only a broken throttle breaks).
TEST(TcpProxy, ThrottledLinkForwardsNoFasterThanItsRate) {
  Listener server;
  TcpProxy proxy(server.port());
  proxy.set_rate(1000);
  const int client = connect_to(proxy.port());
  const int accepted = server.accept();
  const std::string data(200 * 1000, 'd');
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(client, data.data() + sent, data.size() - sent, MSG_DONTWAIT);
    if (n <= 0) break;  // the kernel's buffers are full: what is in them is enough
    sent += static_cast<std::size_t>(n);
  }
  const std::string first = read_bytes(accepted, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_LT(proxy.seen().size(), sent) << "everything crossed at once: the rate was not applied";
  for (int fd : {client, accepted}) ::close(fd);
}

}  // namespace
}  // namespace zrelay::testing
