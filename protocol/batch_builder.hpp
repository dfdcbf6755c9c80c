#pragma once
// Joins encoded messages for the same peer into one message (docs/protocol.md, "Batches"): the
// commands of each, in order, in one batch frame, which CURVE seals in one box, and the payload
// frame of at most one of them after it. A sender adds what already waits for the peer and sends
// the result: no timer, so a lone message leaves as it was encoded, without a copy.
#include <cstddef>
#include <vector>

#include "protocol/codec.hpp"

namespace zrelay::protocol {

class BatchBuilder {
 public:
  // Takes `message` (from encode(), or a batch built here) into the batch if the batch stays
  // within max_batch_bytes, max_batch_commands and one payload frame; an empty builder takes any
  // message. Leaves `message` as it was and returns false otherwise.
  [[nodiscard]] bool add(Frames& message);
  [[nodiscard]] bool empty() const noexcept { return parts_.empty(); }
  // The batch as one message; the builder is empty again.
  [[nodiscard]] Frames take();

 private:
  std::vector<Frames> parts_;
  std::size_t bytes_ = 0;  // of the batch frame to be
  std::size_t commands_ = 0;
  bool has_payload_frame_ = false;
};

}  // namespace zrelay::protocol
