#include "endpoint/submit_queue.hpp"

namespace zrelay::endpoint {
namespace {

std::size_t payload_bytes(const protocol::ClientMessage& message) {
  const auto object = protocol::object_view(message);
  return object ? object->payload.size() : 0;
}

}  // namespace

SubmitQueue::Pushed SubmitQueue::push(protocol::ClientMessage&& message, std::optional<Clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  const auto ready = [this] { return closed_ || has_room(); };
  if (deadline) {
    if (!room_.wait_until(lock, *deadline, ready)) return Pushed::timed_out;
  } else {
    room_.wait(lock, ready);
  }
  if (closed_) return Pushed::closed;
  queued_bytes_ += payload_bytes(message);
  queue_.push_back(std::move(message));
  return queue_.size() == 1 ? Pushed::first : Pushed::queued;
}

std::optional<protocol::ClientMessage> SubmitQueue::take() {
  std::lock_guard lock(mutex_);
  if (queue_.empty()) return std::nullopt;
  protocol::ClientMessage message = std::move(queue_.front());
  queue_.pop_front();
  const std::size_t bytes = payload_bytes(message);
  queued_bytes_ -= bytes;
  taken_bytes_ += bytes;
  if (queue_.size() + 1 == max_messages_) room_.notify_all();  // room by count; bytes leave only when confirmed
  return message;
}

bool SubmitQueue::empty() const {
  std::lock_guard lock(mutex_);
  return queue_.empty();
}

void SubmitQueue::set_unconfirmed_bytes(std::size_t bytes) {
  std::lock_guard lock(mutex_);
  const bool fewer = bytes < unconfirmed_bytes_ + taken_bytes_;
  unconfirmed_bytes_ = bytes;
  taken_bytes_ = 0;
  if (fewer) room_.notify_all();
}

void SubmitQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  room_.notify_all();
}

bool SubmitQueue::has_room() const noexcept {
  // At least one message always fits into an empty endpoint, whatever its size.
  const std::size_t held = queued_bytes_ + taken_bytes_ + unconfirmed_bytes_;
  return queue_.size() < max_messages_ && (held == 0 || held < max_bytes_);
}

}  // namespace zrelay::endpoint
