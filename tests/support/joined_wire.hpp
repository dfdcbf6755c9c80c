#pragma once
// A fake network's hop for the sans-I/O simulations: the messages waiting for one peer leave
// as a real sender sends them, encoded and joined into one message by protocol::BatchBuilder,
// and arrive as a real receiver reads them, decoded as one batch. So every schedule also checks
// that several commands in one message mean what they would one per message.
#include <cstddef>
#include <deque>

#include "protocol/batch_builder.hpp"
#include "protocol/codec.hpp"

namespace zrelay::testing {

template <class Message>
[[nodiscard]] protocol::Batch<Message> decode_as(protocol::Frames& frames);
template <>
[[nodiscard]] inline protocol::Batch<protocol::ClientMessage> decode_as(protocol::Frames& frames) {
  return protocol::decode_client_batch(frames);
}
template <>
[[nodiscard]] inline protocol::Batch<protocol::BrokerMessage> decode_as(protocol::Frames& frames) {
  return protocol::decode_broker_batch(frames);
}

// Takes up to `most` messages (at least one, if any) from the front of `queue`, as one batch.
template <class Message>
[[nodiscard]] protocol::Batch<Message> take_joined(std::deque<Message>& queue, std::size_t most) {
  protocol::BatchBuilder builder;
  for (std::size_t n = 0; n < most && !queue.empty(); ++n) {
    protocol::Frames frames = protocol::encode(Message(std::move(queue.front())));
    if (!builder.add(frames)) {
      // Not joined: it waits at the front for the next message, decoded back as it was.
      queue.front() = std::move(decode_as<Message>(frames).messages.front());
      break;
    }
    queue.pop_front();
  }
  protocol::Frames joined = builder.take();
  return decode_as<Message>(joined);
}

}  // namespace zrelay::testing
