#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <zrelay/certificate.hpp>

namespace zrelay {

// When produced items are acknowledged to the broker, which holds them until then.
enum class AckMode : std::uint8_t {
  on_take,  // when pop(), get_last() or receive_all() hands them to the application
  manual,   // when the application calls Endpoint::ack()
};

// Reconnection after a lost session: delays grow from initial_delay by `factor` up to max_delay,
// each scaled by a random factor in [1 - jitter, 1 + jitter] so that many endpoints spread out.
struct ReconnectOptions {
  bool enabled = true;
  std::chrono::milliseconds initial_delay{100};
  std::chrono::milliseconds max_delay{5000};
  double factor = 2.0;
  double jitter = 0.2;
  unsigned max_attempts = 0;  // 0: try until stop(); otherwise fail after this many
};

struct EndpointOptions {
  std::string broker = "tcp://127.0.0.1:5555";
  // The broker's public key (Z85), or the file of its public certificate.
  std::string broker_public_key;
  std::filesystem::path broker_certificate;
  // This endpoint's key pair, or the file to load it from (NAME, with NAME_secret beside it).
  Certificate certificate;
  std::filesystem::path certificate_file;
  std::vector<std::string> groups;
  std::string name;  // shown in the broker's logs
  // The constructor waits this long for the broker to accept the session and all joins.
  std::chrono::milliseconds connect_timeout{10000};
  // stop() waits this long for the broker to confirm it handled everything sent before.
  std::chrono::milliseconds stop_timeout{5000};
  // broadcast()/produce()/notify() block while the endpoint cannot take more (the broker is slow
  // or unreachable); past this they throw Error(timeout) and nothing was sent.
  std::chrono::milliseconds send_timeout = std::chrono::milliseconds::max();
  AckMode ack_mode = AckMode::on_take;
  ReconnectOptions reconnect;
  // Received broadcasts waiting to be taken: past this many, the oldest is dropped (counted in
  // statistics().dropped_broadcasts). Produced items are bounded by the credits given in notify().
  std::size_t max_received_broadcasts = 1000;
  // Bytes of received broadcasts waiting to be taken: past this, only the newest waiting value
  // of each group is kept (the older ones are counted in dropped_broadcasts too). Broadcast is a
  // last value: a worker that reads rarely holds one set of weights per group, not a backlog.
  std::size_t max_received_broadcast_bytes = std::size_t{256} << 20;
  // Objects sent but not yet confirmed by the broker, kept to send again after a lost session.
  // At this many, sending waits for the broker's confirmation (back-pressure).
  std::size_t max_unconfirmed = 4096;
  // Their payload bytes: past this, sending waits too, so what the endpoint keeps for resending
  // stays within this plus the one object that crossed it.
  std::size_t max_unconfirmed_bytes = std::size_t{64} << 20;
};

}  // namespace zrelay
