#include "bench/zrelay_runs.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <zrelay/broker.hpp>
#include <zrelay/endpoint.hpp>

#include "bench/pacer.hpp"
#include "tests/support/temp_dir.hpp"  // header-only

namespace zrelay::bench {
namespace {

using namespace std::chrono_literals;

struct Relay {
  // Durable: every group is, stored in a fresh data directory (a sync per loop turn that wrote).
  explicit Relay(bool durable = false) {
    BrokerOptions options;
    options.bind = "tcp://127.0.0.1:*";
    options.certificate = Certificate::generate();
    options.authorized_keys = {key};
    options.limits.default_group.max_consumables = 0;  // the benchmark bounds itself
    if (durable) {
      data = std::make_unique<testing::TempDir>();  // on the disk of the system's temporary directory
      options.data_dir = data->path();
      options.limits.durable_groups = {"*"};
    }
    broker = std::make_unique<Broker>(std::move(options));
  }

  [[nodiscard]] std::unique_ptr<Endpoint> endpoint(std::vector<std::string> groups) const {
    EndpointOptions options;
    options.broker = broker->endpoint();
    options.broker_public_key = broker->public_key();
    options.certificate = key;
    options.groups = std::move(groups);
    return std::make_unique<Endpoint>(std::move(options));
  }

  Certificate key = Certificate::generate();
  std::unique_ptr<testing::TempDir> data;  // outlives the broker
  std::unique_ptr<Broker> broker;
};

std::string payload_of(std::size_t size, char fill = 'x') { return std::string(size, fill); }

double since(Clock::time_point start, Clock::time_point end) { return std::chrono::duration<double>(end - start).count(); }

}  // namespace

Measurement zrelay_queue(std::size_t size, std::uint64_t count, int consumers, int window, bool durable) {
  Relay relay(durable);
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  for (int c = 0; c < consumers; ++c) {
    endpoints.push_back(relay.endpoint({"work"}));
    endpoints.back()->notify("work", window);
    endpoints.back()->sync();
  }
  auto producer = relay.endpoint({});
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> done{false};
  Clock::time_point end;
  std::vector<std::thread> threads;
  for (auto& endpoint : endpoints) {
    threads.emplace_back([&, e = endpoint.get()] {
      int taken = 0;
      while (!done.load()) {
        const auto got = e->pop(static_cast<std::size_t>(window), 50ms);
        if (got.empty()) continue;
        if ((received += got.size()) >= count) {
          end = Clock::now();
          done = true;
        } else if ((taken += static_cast<int>(got.size())) >= std::max(1, window / 2)) {
          e->notify("work", std::exchange(taken, 0));  // credits in batches, as the forwarder's consumers
        }
      }
    });
  }
  const std::string payload = payload_of(size);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) (void)producer->produce_raw(payload, "work");
  for (auto& thread : threads) thread.join();
  return Measurement{since(start, end), count, count * size, {}};
}

Measurement zrelay_queue_groups(std::size_t size, std::uint64_t count, int groups, int window) {
  Relay relay;
  std::vector<std::string> names;
  for (int g = 0; g < groups; ++g) names.push_back("work-" + std::to_string(g));
  auto consumer = relay.endpoint(names);
  for (const auto& name : names) consumer->notify(name, window);
  consumer->sync();
  auto producer = relay.endpoint({});
  Clock::time_point end;
  std::thread thread([&] {
    std::map<std::string, int> taken;
    for (std::uint64_t received = 0; received < count;) {
      const auto got = consumer->pop(1024, 50ms);
      received += got.size();
      for (const auto& m : got) {
        int& t = taken[m.group()];
        if (++t >= std::max(1, window / 2) && received < count) consumer->notify(m.group(), std::exchange(t, 0));
      }
    }
    end = Clock::now();
  });
  const std::string payload = payload_of(size);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) (void)producer->produce_raw(payload, names[i % names.size()]);
  thread.join();
  return Measurement{since(start, end), count, count * size, {}};
}

Measurement zrelay_fanout(std::size_t size, std::uint64_t count, int subscribers) {
  Relay relay;
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  for (int s = 0; s < subscribers; ++s) {
    endpoints.push_back(relay.endpoint({"weights"}));
    endpoints.back()->sync();  // joined before the first broadcast
  }
  auto publisher = relay.endpoint({});
  Pacer pacer(subscribers, Pacer::window_for(size));
  std::atomic<std::uint64_t> deliveries{0};
  std::atomic<int> finished{0};
  Clock::time_point end;
  std::vector<std::thread> threads;
  for (int s = 0; s < subscribers; ++s) {
    threads.emplace_back([&, s, e = endpoints[static_cast<std::size_t>(s)].get()] {
      for (bool last = false; !last;) {
        const auto got = e->pop(1024, 50ms);
        for (const auto& m : got) last = last || m.text().front() == 'E';  // the last broadcast
        deliveries += got.size();
        pacer.received(s, got.size());
      }
      if (++finished == subscribers) end = Clock::now();
    });
  }
  const std::string payload = payload_of(size);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i + 1 < count; ++i) {
    pacer.before_send(i);
    (void)publisher->broadcast_raw(payload, "weights");
  }
  pacer.before_send(count - 1);
  (void)publisher->broadcast_raw(payload_of(size, 'E'), "weights");
  for (auto& thread : threads) thread.join();
  // Paced, nothing is skipped; should a member fall behind anyway, it gets only the newest value
  // (broadcast is a last value): count what came, and say so.
  const std::uint64_t per_subscriber = deliveries.load() / static_cast<std::uint64_t>(subscribers);
  if (per_subscriber < count) {
    std::fprintf(stderr, "zrelay fan-out: %llu of %llu broadcasts per subscriber (members behind get the newest)\n",
                 static_cast<unsigned long long>(per_subscriber), static_cast<unsigned long long>(count));
  }
  return Measurement{since(start, end), per_subscriber, per_subscriber * size, {}};
}

Measurement zrelay_round_trip(std::size_t size, std::uint64_t count) {
  Relay relay;
  auto client = relay.endpoint({"answers"});
  auto server = relay.endpoint({"requests"});
  client->notify("answers", static_cast<int>(count));
  server->notify("requests", static_cast<int>(count));
  client->sync();
  server->sync();
  std::thread echo([&] {
    for (std::uint64_t i = 0; i < count; ++i) {
      const auto request = server->pop(1, forever);
      (void)server->produce_raw(request.at(0).bytes(), "answers");
    }
  });
  const std::string payload = payload_of(size);
  Measurement m;
  m.latencies_us.reserve(count);
  const auto start = Clock::now();
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto sent = Clock::now();
    (void)client->produce_raw(payload, "requests");
    (void)client->pop(1, forever);
    m.latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
  }
  m.seconds = since(start, Clock::now());
  m.messages = count;
  m.bytes = count * size;
  echo.join();
  return m;
}

}  // namespace zrelay::bench
