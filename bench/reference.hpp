#pragma once
// The two references zrelay is measured against, from plain libzmq in this process:
// - a direct link: the producer's DEALER straight to each consumer's ROUTER (the ceiling);
// - a bare forwarder: one single-threaded ROUTER loop with a FIFO and credits, copies for
//   fan-out, and echo routing: the least any broker must do.
#include <cstddef>
#include <cstdint>
#include <string>

#include <zmq.hpp>

#include "bench/harness.hpp"

namespace zrelay::bench {

// CURVE keys for one server and its clients, or plaintext.
struct Security {
  bool curve = true;
  std::string server_public, server_secret, client_public, client_secret;

  static Security make(bool curve);
  void server(zmq::socket_t& socket) const;
  void client(zmq::socket_t& socket) const;
};

Measurement direct_queue(const Security& security, std::size_t size, std::uint64_t count,
                         int consumers);
Measurement forwarder_queue(const Security& security, std::size_t size, std::uint64_t count,
                            int consumers, int window);
Measurement direct_fanout(const Security& security, std::size_t size, std::uint64_t count,
                          int subscribers);
Measurement forwarder_fanout(const Security& security, std::size_t size, std::uint64_t count,
                             int subscribers);
Measurement direct_round_trip(const Security& security, std::size_t size, std::uint64_t count);
Measurement forwarder_round_trip(const Security& security, std::size_t size,
                                 std::uint64_t count);

}  // namespace zrelay::bench
