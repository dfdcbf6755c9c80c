#pragma once
// An embeddable zrelay broker: binds a CURVE-secured ROUTER socket and serves endpoints from a
// background thread until stop() or destruction. zrelay-broker is a thin program around it.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <zrelay/broker_options.hpp>
#include <zrelay/broker_stats.hpp>

namespace zrelay {

class Broker {
 public:
  // Checks the options, starts ZAP authentication, binds, and serves. Throws zrelay::Error.
  explicit Broker(BrokerOptions options);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;
  Broker(Broker&&) noexcept;
  Broker& operator=(Broker&&) noexcept;

  // Stops serving: every client gets GOODBYE (shutting_down), then the socket closes (bounded
  // by the linger option). Idempotent.
  void stop() noexcept;

  // Loads options.authorized_keys_dir again and applies options.authorized_keys, access_rules
  // and access_default; other fields are ignored. Live sessions of removed keys end (GOODBYE
  // revoked), and every message is judged by the new rules once this returns. Throws
  // zrelay::Error and keeps the keys and rules in force if anything is wrong.
  void reload(const BrokerOptions& options);

  // The bound address with the port the OS chose, e.g. "tcp://127.0.0.1:40213".
  [[nodiscard]] std::string endpoint() const;
  // Every bound address: endpoint() first, then those of BrokerOptions::also_bind.
  [[nodiscard]] std::vector<std::string> endpoints() const;
  [[nodiscard]] std::string public_key() const;
  // Connections refused by authentication so far.
  [[nodiscard]] std::size_t denied_count() const;
  // Counters and sizes, built by the broker's loop for this call (it waits for the loop, up to
  // 10 s: Error(timeout) past that); once the broker stopped, the last it built.
  [[nodiscard]] BrokerStatistics stats() const;
  // False after stop(), or once the broker stopped on a fault of its own (logged; its socket is
  // then closed, so endpoints see the connection end rather than a silent broker).
  [[nodiscard]] bool serving() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zrelay
