#include "broker/payload_account.hpp"

#include <memory>

#include "protocol/handover.hpp"

namespace zrelay::broker {
namespace {

using detail::handed_over;
using detail::taken_back;

struct Held {
  zmq::message_t payload;
  std::shared_ptr<AccountCounters> counters;
};

void release(void* /*data*/, void* hint) {
  taken_back(hint);
  auto* held = static_cast<Held*>(hint);
  held->counters->bytes.fetch_sub(held->payload.size());
  held->counters->buffers.fetch_sub(1);
  delete held;
}

// Where an empty tracked message points: libzmq wants data for a message with a free function.
char empty_payload = 0;

}  // namespace

zmq::message_t PayloadAccount::track(zmq::message_t&& payload) const {
  auto held = std::make_unique<Held>(Held{std::move(payload), counters_});
  const std::size_t size = held->payload.size();
  void* data = size == 0 ? &empty_payload : held->payload.data();
  zmq::message_t tracked(data, size, &release, held.get());
  Held* raw = held.release();  // libzmq owns it now: release() runs once the last copy is closed
  counters_->bytes.fetch_add(size);
  counters_->buffers.fetch_add(1);
  handed_over(raw);  // after the last access from this thread
  return tracked;
}

}  // namespace zrelay::broker
