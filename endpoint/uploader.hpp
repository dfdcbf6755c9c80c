#pragma once
// Objects over chunk_size on their way to the broker, one at a time: BEGIN, then the chunks, a
// PING after each (its PONG says the broker has the chunk), at most `window` chunks ahead of
// the PONGs so that what interleaves (PINGs, ACKs, READYs, other groups' objects) never waits
// behind more than that, and a session moving a large object stays alive by its progress. Later
// objects of a group with an object waiting or uploading here wait here too: the broker gets
// one endpoint's objects of a group in the order they were sent.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/limits.hpp"
#include "protocol/messages.hpp"

namespace zrelay::endpoint {

class Uploader {
 public:
  // Chunks sent and not yet covered by a PONG, at most.
  static constexpr std::size_t window = 4;

  // True if this BROADCAST or PRODUCE goes through here: it is over chunk_size, or an object
  // of its group waits or uploads here.
  [[nodiscard]] bool takes(const protocol::ClientMessage& message) const;
  void push(protocol::ClientMessage&& object);
  // The next wire messages, while the window has room: BEGIN, chunks, or a small object whose
  // turn came. `confirmed` is the highest PING token the broker answered; `ping` makes the
  // PING that follows each chunk (its token is remembered). `sent` gets the seq of every object
  // once its last byte went out (the next PING confirms it, as for any object).
  template <class Ping, class Sent>
  [[nodiscard]] std::vector<protocol::ClientMessage> next(std::uint64_t confirmed, Ping&& ping, Sent&& sent);
  // The broker answered the PINGs up to `confirmed`: the chunks before them are confirmed.
  void confirm(std::uint64_t confirmed) {
    while (!in_flight_.empty() && in_flight_.front().token <= confirmed) in_flight_.pop_front();
  }
  // The session was lost: what was sent here counts for nothing. The session sends every
  // unconfirmed object again, and those that go through here are pushed again, in order.
  void restart();

  [[nodiscard]] bool idle() const noexcept { return queue_.empty(); }
  // The object uploading now: its size and the bytes of it the broker confirmed (0, 0 if none;
  // an object whose last chunk went out counts until the broker confirmed that too).
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> progress() const;

 private:
  [[nodiscard]] protocol::ClientMessage next_part();
  // Removes the front object and returns it.
  protocol::ClientMessage pop();

  std::deque<protocol::ClientMessage> queue_;  // the front one is uploading
  std::multiset<std::string> groups_;          // of the queue
  bool begun_ = false;
  std::uint64_t offset_ = 0;
  struct InFlight {
    std::uint64_t token;        // of the PING after the chunk
    std::uint64_t object_size;  // of the object the chunk is of
    std::uint64_t offset;       // of the chunk in it
  };
  std::deque<InFlight> in_flight_;  // chunks whose PING is not answered yet
};

template <class Ping, class Sent>
std::vector<protocol::ClientMessage> Uploader::next(std::uint64_t confirmed, Ping&& ping, Sent&& sent) {
  confirm(confirmed);
  std::vector<protocol::ClientMessage> out;
  while (!queue_.empty() && in_flight_.size() < window) {
    const auto front = *protocol::object_view(queue_.front());
    if (front.payload.size() <= protocol::chunk_size) {  // a small one whose turn came
      sent(front.seq);
      out.push_back(pop());
      continue;
    }
    const bool chunk = begun_;
    const std::uint64_t offset = offset_;
    out.push_back(next_part());
    if (!chunk) continue;
    const std::uint64_t size = front.payload.size();
    if (offset_ == size) {  // its last chunk: the PING below confirms it
      sent(front.seq);
      (void)pop();
    }
    protocol::Ping p = ping();
    in_flight_.push_back(InFlight{p.token, size, offset});
    out.emplace_back(p);
  }
  return out;
}

}  // namespace zrelay::endpoint
