#include "bench/reference.hpp"

#include "bench/pacer.hpp"

#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace zrelay::bench {
namespace {

// Frame 0 of every message to the forwarder says what it is.
constexpr char produce_tag = 'P', ready_tag = 'R', subscribe_tag = 'S', broadcast_tag = 'B', echo_tag = 'E',
               request_tag = 'T', answer_tag = 'A', stop_tag = 'X';

std::string bind_any(zmq::socket_t& socket) {
  socket.bind("tcp://127.0.0.1:*");
  return socket.get(zmq::sockopt::last_endpoint);
}

zmq::message_t payload_of(std::size_t size, char fill = 'x') {
  zmq::message_t message(size);
  std::memset(message.data(), fill, size);
  return message;
}

void send_tagged(zmq::socket_t& socket, char tag, zmq::message_t&& payload) {
  (void)socket.send(zmq::buffer(&tag, 1), zmq::send_flags::sndmore);
  (void)socket.send(payload, zmq::send_flags::none);
}

// Watches a socket's handshakes from before it connects, so that none is missed.
class HandshakeWatch {
 public:
  HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket) : socket_(socket), monitor_(context, zmq::socket_type::pair) {
    static std::atomic<int> next{0};
    const std::string address = "inproc://bench-monitor-" + std::to_string(next++);
    zmq_socket_monitor(socket.handle(), address.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    monitor_.connect(address);
  }
  ~HandshakeWatch() { zmq_socket_monitor(socket_.handle(), nullptr, 0); }
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;

  // Waits until `count` handshakes succeeded, so that round-robin sees every peer.
  void wait(int count) {
    for (int seen = 0; seen < count; ++seen) {
      zmq::message_t event, where;
      (void)monitor_.recv(event);
      (void)monitor_.recv(where);
    }
  }

 private:
  zmq::socket_t& socket_;
  zmq::socket_t monitor_;
};

zmq::socket_t dealer_of(zmq::context_t& context, const Security& security) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  security.client(socket);
  socket.set(zmq::sockopt::linger, 0);
  return socket;
}

// A DEALER connected to `address`, its handshake done.
zmq::socket_t connected_dealer(zmq::context_t& context, const Security& security, const std::string& address) {
  zmq::socket_t socket = dealer_of(context, security);
  HandshakeWatch watch(context, socket);
  socket.connect(address);
  watch.wait(1);
  return socket;
}

// One context per peer, as if each were its own process (the forwarder gets 2 I/O threads,
// like the zrelay broker; every other peer 1, like a zrelay endpoint). Declared first in a
// measurement, so that it outlives every socket.
class ContextPool {
 public:
  zmq::context_t& make(int io_threads = 1) {
    std::lock_guard lock(mutex_);  // peers start on their own threads
    contexts_.push_back(std::make_unique<zmq::context_t>(io_threads));
    return *contexts_.back();
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<zmq::context_t>> contexts_;
};

// The bare forwarder: one ROUTER, one thread, the minimum of a queue/fan-out/echo broker.
class Forwarder {
 public:
  Forwarder(zmq::context_t& context, const Security& security) : router_(context, zmq::socket_type::router) {
    security.server(router_);
    router_.set(zmq::sockopt::sndhwm, 0);  // credits bound the queue
    address_ = bind_any(router_);
    thread_ = std::thread([this] { run(); });
  }
  ~Forwarder() { thread_.join(); }

  [[nodiscard]] const std::string& address() const { return address_; }

 private:
  void run() {
    std::deque<zmq::message_t> queue;
    std::deque<std::string> ready;
    std::unordered_map<std::string, std::int64_t> credits;
    std::vector<std::string> subscribers;
    std::string echo, client;
    for (;;) {
      zmq::message_t id, tag, payload;
      (void)router_.recv(id);
      (void)router_.recv(tag);
      (void)router_.recv(payload);
      switch (*static_cast<const char*>(tag.data())) {
        case produce_tag:
          queue.push_back(std::move(payload));
          break;
        case ready_tag: {
          std::int32_t n = 0;
          std::memcpy(&n, payload.data(), sizeof n);
          auto& held = credits[id.to_string()];
          if (held == 0) ready.push_back(id.to_string());
          held += n;
          break;
        }
        case subscribe_tag:
          subscribers.push_back(id.to_string());
          send_to(id.to_string(), zmq::message_t());  // subscribed: the subscriber may start counting
          break;
        case broadcast_tag:
          for (const auto& to : subscribers) {
            zmq::message_t copy;
            copy.copy(payload);
            send_to(to, std::move(copy));
          }
          break;
        case echo_tag:
          echo = id.to_string();
          send_to(echo, zmq::message_t());  // registered: requests can come
          break;
        case request_tag: client = id.to_string(); send_to(echo, std::move(payload)); break;
        case answer_tag: send_to(client, std::move(payload)); break;
        case stop_tag: return;
        default: break;
      }
      while (!queue.empty() && !ready.empty()) {  // hand out in turn, one item per credit
        std::string to = std::move(ready.front());
        ready.pop_front();
        send_to(to, std::move(queue.front()));
        queue.pop_front();
        if (--credits[to] > 0) ready.push_back(std::move(to));
      }
    }
  }

  void send_to(const std::string& to, zmq::message_t&& payload) {
    (void)router_.send(zmq::buffer(to), zmq::send_flags::sndmore);
    (void)router_.send(payload, zmq::send_flags::none);
  }

  zmq::socket_t router_;
  std::string address_;
  std::thread thread_;
};

zmq::socket_t client_of(zmq::context_t& context, const Security& security, const std::string& address) {
  zmq::socket_t socket = dealer_of(context, security);
  socket.connect(address);
  return socket;
}

void stop(const Security& security, const Forwarder& forwarder) {
  zmq::context_t context(1);
  auto socket = client_of(context, security, forwarder.address());
  send_tagged(socket, stop_tag, zmq::message_t());
  socket.set(zmq::sockopt::linger, 1000);
}

}  // namespace

Security Security::make(bool curve) {
  Security s;
  s.curve = curve;
  if (!curve) return s;
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) throw std::runtime_error("zmq_curve_keypair failed");
  s.server_public = pub;
  s.server_secret = sec;
  if (zmq_curve_keypair(pub, sec) != 0) throw std::runtime_error("zmq_curve_keypair failed");
  s.client_public = pub;
  s.client_secret = sec;
  return s;
}

void Security::server(zmq::socket_t& socket) const {
  if (!curve) return;
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, server_secret);
}

void Security::client(zmq::socket_t& socket) const {
  if (!curve) return;
  socket.set(zmq::sockopt::curve_serverkey, server_public);
  socket.set(zmq::sockopt::curve_publickey, client_public);
  socket.set(zmq::sockopt::curve_secretkey, client_secret);
}

Measurement direct_queue(const Security& security, std::size_t size, std::uint64_t count,
                         int consumers) {
  ContextPool pool;
  std::vector<zmq::socket_t> routers;
  std::vector<std::string> addresses;
  for (int i = 0; i < consumers; ++i) {
    routers.emplace_back(pool.make(), zmq::socket_type::router);
    security.server(routers.back());
    addresses.push_back(bind_any(routers.back()));
  }
  zmq::context_t& producer_context = pool.make();
  zmq::socket_t producer = dealer_of(producer_context, security);
  {
    HandshakeWatch watch(producer_context, producer);
    for (const auto& address : addresses) producer.connect(address);
    watch.wait(consumers);
  }
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> done{false};
  Clock::time_point end;
  std::vector<std::thread> threads;
  for (auto& router : routers) {
    threads.emplace_back([&, socket = &router] {
      zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
      while (!done.load()) {
        if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) continue;
        zmq::message_t id, payload;
        (void)socket->recv(id);
        (void)socket->recv(payload);
        if (++received == count) {
          end = Clock::now();
          done = true;
        }
      }
    });
  }
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) (void)producer.send(payload_of(size), zmq::send_flags::none);
  for (auto& thread : threads) thread.join();
  return Measurement{std::chrono::duration<double>(end - start).count(), count, count * size, {}};
}

Measurement forwarder_queue(const Security& security, std::size_t size, std::uint64_t count,
                            int consumers, int window) {
  ContextPool pool;
  Forwarder forwarder(pool.make(2), security);
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> done{false};
  Clock::time_point end;
  std::vector<std::thread> threads;
  std::atomic<int> registered{0};
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      auto socket = client_of(pool.make(), security, forwarder.address());
      const auto credit = [&](std::int32_t n) {
        zmq::message_t body(sizeof n);
        std::memcpy(body.data(), &n, sizeof n);
        send_tagged(socket, ready_tag, std::move(body));
      };
      credit(window);
      ++registered;
      std::int32_t taken = 0;
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
      while (!done.load()) {
        if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) continue;
        zmq::message_t payload;
        (void)socket.recv(payload);
        if (++received == count) {
          end = Clock::now();
          done = true;
        }
        if (++taken >= std::max(1, window / 2)) {
          credit(taken);
          taken = 0;
        }
      }
    });
  }
  while (registered.load() < consumers) std::this_thread::yield();
  // Connected before the clock starts, like a zrelay endpoint.
  auto producer = connected_dealer(pool.make(), security, forwarder.address());
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) send_tagged(producer, produce_tag, payload_of(size));
  for (auto& thread : threads) thread.join();
  stop(security, forwarder);
  return Measurement{std::chrono::duration<double>(end - start).count(), count, count * size, {}};
}

namespace {

// Subscribers each count `count` messages; returns when all have.
template <class Receive>
std::vector<std::thread> counting_subscribers(int subscribers, std::uint64_t count, std::atomic<int>& finished,
                                              Clock::time_point& end, Pacer& pacer, Receive receive) {
  std::vector<std::thread> threads;
  for (int s = 0; s < subscribers; ++s) {
    threads.emplace_back([&finished, &end, &pacer, receive, s, count, subscribers] {  // `receive` by value
      for (std::uint64_t i = 0; i < count; ++i) {
        receive(s);
        pacer.received(s, 1);
      }
      if (++finished == subscribers) end = Clock::now();
    });
  }
  return threads;
}

}  // namespace

Measurement direct_fanout(const Security& security, std::size_t size, std::uint64_t count,
                          int subscribers) {
  ContextPool pool;
  std::vector<zmq::socket_t> routers;
  std::vector<zmq::socket_t> links;
  zmq::context_t& publisher_context = pool.make();
  for (int i = 0; i < subscribers; ++i) {
    routers.emplace_back(pool.make(), zmq::socket_type::router);
    security.server(routers.back());
    const std::string address = bind_any(routers.back());
    links.push_back(connected_dealer(publisher_context, security, address));
  }
  std::atomic<int> finished{0};
  Clock::time_point end;
  Pacer pacer(subscribers, Pacer::window_for(size));
  auto threads = counting_subscribers(subscribers, count, finished, end, pacer, [&](int s) {
    zmq::message_t id, payload;
    (void)routers[static_cast<std::size_t>(s)].recv(id);
    (void)routers[static_cast<std::size_t>(s)].recv(payload);
  });
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) {
    pacer.before_send(i);
    zmq::message_t payload = payload_of(size);
    for (auto& link : links) {
      zmq::message_t copy;
      copy.copy(payload);
      (void)link.send(copy, zmq::send_flags::none);
    }
  }
  for (auto& thread : threads) thread.join();
  return Measurement{std::chrono::duration<double>(end - start).count(), count, count * size, {}};
}

Measurement forwarder_fanout(const Security& security, std::size_t size, std::uint64_t count,
                             int subscribers) {
  ContextPool pool;
  Forwarder forwarder(pool.make(2), security);
  std::vector<zmq::socket_t> sockets;
  for (int s = 0; s < subscribers; ++s) {
    sockets.push_back(client_of(pool.make(), security, forwarder.address()));
    send_tagged(sockets.back(), subscribe_tag, zmq::message_t());
    zmq::message_t subscribed;
    (void)sockets.back().recv(subscribed);
  }
  auto publisher = connected_dealer(pool.make(), security, forwarder.address());
  std::atomic<int> finished{0};
  Clock::time_point end;
  Pacer pacer(subscribers, Pacer::window_for(size));
  auto threads = counting_subscribers(subscribers, count, finished, end, pacer, [&](int s) {
    zmq::message_t payload;
    (void)sockets[static_cast<std::size_t>(s)].recv(payload);
  });
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) {
    pacer.before_send(i);
    send_tagged(publisher, broadcast_tag, payload_of(size));
  }
  for (auto& thread : threads) thread.join();
  stop(security, forwarder);
  return Measurement{std::chrono::duration<double>(end - start).count(), count, count * size, {}};
}

Measurement direct_round_trip(const Security& security, std::size_t size,
                              std::uint64_t count) {
  ContextPool pool;
  zmq::socket_t server(pool.make(), zmq::socket_type::router);
  security.server(server);
  const std::string address = bind_any(server);
  std::thread echo([&] {
    for (std::uint64_t i = 0; i < count; ++i) {
      zmq::message_t id, payload;
      (void)server.recv(id);
      (void)server.recv(payload);
      (void)server.send(id, zmq::send_flags::sndmore);
      (void)server.send(payload, zmq::send_flags::none);
    }
  });
  auto client = connected_dealer(pool.make(), security, address);
  Measurement m;
  m.latencies_us.reserve(count);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto sent = Clock::now();
    (void)client.send(payload_of(size), zmq::send_flags::none);
    zmq::message_t reply;
    (void)client.recv(reply);
    m.latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
  }
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.messages = count;
  m.bytes = count * size;
  echo.join();
  return m;
}

Measurement forwarder_round_trip(const Security& security, std::size_t size,
                                 std::uint64_t count) {
  ContextPool pool;
  Forwarder forwarder(pool.make(2), security);
  auto server = client_of(pool.make(), security, forwarder.address());
  send_tagged(server, echo_tag, zmq::message_t());
  zmq::message_t registered;
  (void)server.recv(registered);
  std::thread echo([&] {
    for (std::uint64_t i = 0; i < count + 1; ++i) {
      zmq::message_t payload;
      (void)server.recv(payload);
      send_tagged(server, answer_tag, std::move(payload));
    }
  });
  auto client = client_of(pool.make(), security, forwarder.address());
  const auto round_trip = [&] {
    send_tagged(client, request_tag, payload_of(size));
    zmq::message_t reply;
    (void)client.recv(reply);
  };
  round_trip();  // warm-up: the client's handshake is done
  Measurement m;
  m.latencies_us.reserve(count);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto sent = Clock::now();
    round_trip();
    m.latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
  }
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.messages = count;
  m.bytes = count * size;
  echo.join();
  stop(security, forwarder);
  return m;
}

}  // namespace zrelay::bench
