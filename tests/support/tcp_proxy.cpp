#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <list>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace zrelay::testing {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t buffer_size = 64 * 1024;

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void set_nonblocking(int fd) {
  if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) throw_errno("fcntl");
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// One direction of a connection: bytes read from `from` wait in `buffer` until `to` takes them.
// With a rate, reading is allowed as tokens accumulate (at most a tenth of a second's worth).
struct Direction {
  int from = -1;
  int to = -1;
  std::vector<char> buffer;
  std::size_t sent = 0;  // of buffer
  double tokens = 0;
  Clock::time_point refilled = Clock::now();

  [[nodiscard]] bool empty() const { return sent == buffer.size(); }

  void refill(std::uint64_t rate, Clock::time_point now) {
    if (rate == 0) return;
    tokens = std::min(tokens + std::chrono::duration<double>(now - refilled).count() * static_cast<double>(rate),
                      std::max(static_cast<double>(rate) / 10, 1.0));
    refilled = now;
  }
  [[nodiscard]] std::size_t may_read(std::uint64_t rate) const {
    if (!empty()) return 0;
    return rate == 0 ? buffer_size : std::min(buffer_size, static_cast<std::size_t>(tokens));
  }
};

struct Connection {
  int client = -1;
  int server = -1;
  Direction up;    // client to server
  Direction down;  // server to client
  bool closed = false;

  Connection(int c, int s) : client(c), server(s) {
    up.from = down.to = c;
    up.to = down.from = s;
  }
  void close() {
    if (closed) return;
    ::close(client);
    ::close(server);
    closed = true;
  }
};

}  // namespace

TcpProxy::TcpProxy(std::uint16_t target_port) : target_port_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw_errno("socket");
  sockaddr_in address = loopback(0);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw_errno("bind");
  if (::listen(listener_, 64) != 0) throw_errno("listen");
  socklen_t length = sizeof address;
  if (::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) throw_errno("getsockname");
  port_ = ntohs(address.sin_port);
  set_nonblocking(listener_);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe2");
  thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
  stop_.store(true);
  (void)!::write(wake_[1], "s", 1);
  thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TcpProxy::cut() {
  // Counted, then awaited: cut() returns once the thread closed what was open.
  const unsigned wanted = cuts_.fetch_add(1) + 1;
  (void)!::write(wake_[1], "c", 1);
  while (!stop_.load() && cuts_done_.load() < wanted) std::this_thread::yield();
}

std::string TcpProxy::seen() const {
  std::lock_guard lock(seen_mutex_);
  return seen_;
}

void TcpProxy::run() {
  std::list<Connection> connections;
  while (!stop_.load()) {
    const std::uint64_t rate = rate_.load();
    const auto now = Clock::now();
    std::vector<pollfd> fds{{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    std::vector<std::pair<Connection*, Direction*>> directions;
    bool waiting_for_tokens = false;
    for (Connection& c : connections) {
      for (Direction* d : {&c.up, &c.down}) {
        d->refill(rate, now);
        const bool read = d->may_read(rate) > 0;
        waiting_for_tokens |= d->empty() && !read;
        fds.push_back({d->from, static_cast<short>(read ? POLLIN : 0), 0});
        fds.push_back({d->to, static_cast<short>(d->empty() ? 0 : POLLOUT), 0});
        directions.emplace_back(&c, d);
      }
    }
    if (::poll(fds.data(), fds.size(), waiting_for_tokens ? 5 : 1000) < 0 && errno != EINTR) throw_errno("poll");

    if ((fds[1].revents & POLLIN) != 0) {
      char drained[64];
      while (::read(wake_[0], drained, sizeof drained) > 0) {
      }
      const unsigned wanted = cuts_.load();
      if (cuts_done_.load() != wanted) {
        for (Connection& c : connections) c.close();
        cuts_done_.store(wanted);
      }
    }
    for (std::size_t i = 0; i < directions.size(); ++i) {
      auto [owner, direction] = directions[i];
      Direction& d = *direction;
      if (owner->closed) continue;
      const short from_events = fds[2 + 2 * i].revents;
      const short to_events = fds[3 + 2 * i].revents;
      if ((to_events & (POLLERR | POLLHUP)) != 0 || (from_events & (POLLERR | POLLNVAL)) != 0) {
        owner->close();
        continue;
      }
      if ((from_events & (POLLIN | POLLHUP)) != 0) {
        d.buffer.resize(d.may_read(rate));
        const ssize_t got = ::recv(d.from, d.buffer.data(), d.buffer.size(), 0);
        if (got <= 0 && !(got < 0 && (errno == EAGAIN || errno == EINTR))) {
          owner->close();
          continue;
        }
        d.buffer.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
        d.sent = 0;
        if (rate != 0) d.tokens -= static_cast<double>(d.buffer.size());
        std::lock_guard lock(seen_mutex_);
        seen_.append(d.buffer.data(), d.buffer.size());
      }
      if (!d.empty()) {
        const ssize_t put = ::send(d.to, d.buffer.data() + d.sent, d.buffer.size() - d.sent, MSG_NOSIGNAL);
        if (put < 0 && errno != EAGAIN && errno != EINTR) {
          owner->close();
          continue;
        }
        if (put > 0) d.sent += static_cast<std::size_t>(put);
      }
    }
    connections.remove_if([](const Connection& c) { return c.closed; });

    if ((fds[0].revents & POLLIN) != 0) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) continue;
      const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in target = loopback(target_port_);
      if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
        ::close(client);
        if (server >= 0) ::close(server);
        continue;
      }
      set_nonblocking(server);
      accepted_.fetch_add(1);
      connections.emplace_back(client, server);
    }
  }
  for (Connection& c : connections) c.close();
}

}  // namespace zrelay::testing
