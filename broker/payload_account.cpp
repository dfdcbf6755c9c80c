#include "broker/payload_account.hpp"

namespace zrelay::broker {
namespace {

struct Held {
  zmq::message_t payload;
  std::shared_ptr<std::atomic<std::uint64_t>> bytes;
};

void release(void* /*data*/, void* hint) {
  auto* held = static_cast<Held*>(hint);
  held->bytes->fetch_sub(held->payload.size());
  delete held;
}

}  // namespace

zmq::message_t PayloadAccount::track(zmq::message_t&& payload) const {
  if (payload.size() == 0) return std::move(payload);
  auto* held = new Held{std::move(payload), bytes_};
  held->bytes->fetch_add(held->payload.size());
  // libzmq takes ownership of `held` (release() runs once the last copy is closed).
  return zmq::message_t(held->payload.data(), held->payload.size(), &release, held);
}

}  // namespace zrelay::broker
