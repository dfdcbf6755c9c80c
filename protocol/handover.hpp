#pragma once
// Memory handed from one thread to another through libzmq: a message's bytes written by an
// application thread and read by the endpoint's I/O thread after an inproc pipe, or an object
// given to libzmq with a message (zmq_msg_init_data's hint) and released by a free callback on
// libzmq's I/O thread. libzmq orders these through lock-free pipes built outside
// ThreadSanitizer's view, so TSan cannot see that the writes happen before the reads. These two
// annotations state exactly that edge for the one object handed over; nothing else is hidden.
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

namespace zrelay::detail {

// Before the message that carries `object` goes to libzmq.
inline void handed_over(void* object) {
#ifdef ZRELAY_TSAN_ANNOTATIONS
  __tsan_release(object);
#else
  (void)object;
#endif
}

// First thing in the free callback.
inline void taken_back(void* object) {
#ifdef ZRELAY_TSAN_ANNOTATIONS
  __tsan_acquire(object);
#else
  (void)object;
#endif
}

}  // namespace zrelay::detail
