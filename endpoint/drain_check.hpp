#pragma once
// When a stopping endpoint may say BYE: nothing of the application's is left anywhere on its
// way, and nothing more can come. The order of the questions is the point. stop() marks the
// endpoint stopping before it asks the I/O thread to finish, and a submit announces itself
// before it reads that mark, so once "no submit under way" was seen, no later object can enter
// the queue. Asked in the other order, "queue empty" could be answered just before a submit under
// way put its object in, "no submit under way" just after: the object would land behind BYE.
#include <functional>

namespace zrelay::endpoint {

struct DrainProbes {
  std::function<bool()> submitting;    // an application thread is inside submit()
  std::function<bool()> queue_empty;   // nothing waits in the application's SubmitQueue
  std::function<bool()> acks_empty;    // no acknowledgement waits in the ack queue
  std::function<bool()> outbox_empty;  // everything encoded went to the socket
};

// True once BYE may go: asks `submitting` first, then the rest.
[[nodiscard]] inline bool drained(const DrainProbes& probes) {
  if (probes.submitting()) return false;
  return probes.queue_empty() && probes.acks_empty() && probes.outbox_empty();
}

}  // namespace zrelay::endpoint
