#include "broker/payload_account.hpp"

#include <memory>

// libzmq hands a message to its I/O thread through lock-free pipes compiled outside
// ThreadSanitizer's view, so TSan cannot see that everything track() wrote happens before
// release() runs on that thread. These two annotations state exactly that edge for the one
// object handed over (the Held); nothing else is hidden from TSan.
#if defined(__SANITIZE_THREAD__)
#define ZRELAY_TSAN_ANNOTATIONS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZRELAY_TSAN_ANNOTATIONS 1
#endif
#endif
#ifdef ZRELAY_TSAN_ANNOTATIONS
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace zrelay::broker {
namespace {

// Handing `held` to libzmq (release) and taking it back in the free callback (acquire).
void handed_over(void* held) {
#ifdef ZRELAY_TSAN_ANNOTATIONS
  __tsan_release(held);
#else
  (void)held;
#endif
}

void taken_back(void* held) {
#ifdef ZRELAY_TSAN_ANNOTATIONS
  __tsan_acquire(held);
#else
  (void)held;
#endif
}

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
  handed_over(held.get());
  zmq::message_t tracked(held->payload.data(), size, &release, held.get());
  held.release();  // libzmq owns it now: release() runs once the last copy is closed
  bytes_->fetch_add(size);
  return tracked;
}

}  // namespace zrelay::broker
