#include "broker/upload.hpp"

#include <cstring>

namespace zrelay::broker {

Upload::Upload(protocol::Begin begin, Charge reservation)
    : begin_(std::move(begin)), buffer_(zmq::message_t(begin_.size)), reservation_(std::move(reservation)) {}

Upload Upload::swallowed(protocol::Begin begin) { return Upload(std::move(begin)); }

bool Upload::append(const protocol::Chunk& chunk) {
  if (chunk.offset != received_ || chunk.data.size() > begin_.size - received_) return false;
  if (buffer_) std::memcpy(static_cast<char*>(buffer_->data()) + received_, chunk.data.data(), chunk.data.size());
  received_ += chunk.data.size();
  return true;
}

protocol::ClientMessage Upload::take() {
  zmq::message_t payload = std::move(*buffer_);
  buffer_.reset();
  reservation_ = Charge();
  if (begin_.kind == Kind::broadcast) return protocol::Broadcast{begin_.seq, begin_.group, std::move(payload)};
  return protocol::Produce{begin_.seq, begin_.group, begin_.copies, std::move(payload)};
}

}  // namespace zrelay::broker
