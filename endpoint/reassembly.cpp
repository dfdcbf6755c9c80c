#include "endpoint/reassembly.hpp"

#include <cstring>

namespace zrelay::endpoint {

bool Reassembly::append(const protocol::DeliverChunk& chunk) {
  if (chunk.offset != received_ || chunk.data.size() > begin_.size - received_) return false;
  std::memcpy(static_cast<char*>(buffer_.data()) + received_, chunk.data.data(), chunk.data.size());
  received_ += chunk.data.size();
  return true;
}

protocol::Deliver Reassembly::take() {
  return protocol::Deliver{begin_.group, begin_.kind, begin_.delivery_id, begin_.attempt, std::move(buffer_), begin_.object};
}

}  // namespace zrelay::endpoint
