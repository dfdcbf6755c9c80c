#include "broker/payload_account.hpp"

#include <memory>

#include "protocol/handover.hpp"

namespace zrelay::broker {
namespace {

using detail::handed_over;
using detail::taken_back;

struct Held {
  zmq::message_t payload;
  std::shared_ptr<std::atomic<std::uint64_t>> bytes;
};

void release(void* /*data*/, void* hint) {
  taken_back(hint);
  auto* held = static_cast<Held*>(hint);
  held->bytes->fetch_sub(held->payload.size());
  delete held;
}

}  // namespace

zmq::message_t PayloadAccount::track(zmq::message_t&& payload) const {
  if (payload.size() == 0) return std::move(payload);
  auto held = std::make_unique<Held>(Held{std::move(payload), bytes_});
  const std::size_t size = held->payload.size();
  zmq::message_t tracked(held->payload.data(), size, &release, held.get());
  Held* raw = held.release();  // libzmq owns it now: release() runs once the last copy is closed
  bytes_->fetch_add(size);
  handed_over(raw);  // after the last access from this thread
  return tracked;
}

}  // namespace zrelay::broker
