#pragma once
// Objects over chunk_size on their way to one client, one at a time: DELIVER-BEGIN, then its
// chunks as the client's connection takes them (BrokerCore sends the next one when the bytes
// pending for the client are below stream_window), each a zero-copy view of the one copy of the
// object. Waiting behind the one streaming: produced items as they are, and last values as a
// reference to their group, resolved when their turn comes: a member behind gets the newest
// value, and never a mix of two, since the one streaming is finished first.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "protocol/messages.hpp"

namespace zrelay::broker {

class DeliveryStreams {
 public:
  // A waiting object: a produced item (`deliver`), or the last value of `group`.
  struct Waiting {
    std::optional<protocol::Deliver> deliver;
    std::string group;
  };

  void push_item(protocol::Deliver&& deliver);
  // False if the group's last value waits here already: that entry stands for the new value.
  [[nodiscard]] bool push_last_value(const std::string& group);
  // True if an object of `group` streams or waits here: the group's next deliveries wait too.
  [[nodiscard]] bool involves(const std::string& group) const;
  [[nodiscard]] bool idle() const noexcept { return !active_ && waiting_.empty(); }

  [[nodiscard]] bool streaming() const noexcept { return active_.has_value(); }
  // The next waiting object, or nothing; the caller resolves it and start()s it.
  [[nodiscard]] std::optional<Waiting> take_waiting();
  void start(protocol::Deliver&& deliver);
  // True once DELIVER-BEGIN and every chunk were handed to the socket (none given back since).
  [[nodiscard]] bool all_sent() const noexcept;
  void finish() { active_.reset(); }
  // The next message of the one streaming: DELIVER-BEGIN, then the chunks. Each chunk holds a
  // share of the payload and calls `on_release` (if set) once libzmq let go of it.
  [[nodiscard]] protocol::BrokerMessage next(const std::shared_ptr<const std::function<void()>>& on_release);
  // The socket did not take this message (DELIVER-BEGIN or a chunk of the one streaming): it
  // and what followed are sent again. Returns false if it is not of the one streaming.
  bool give_back(const protocol::BrokerMessage& message);
  // Set by give_back(): the socket is full, so nothing is sent until the next tick (libzmq
  // releasing what was given back would wake the loop again at once).
  [[nodiscard]] bool held_back() const noexcept { return held_back_; }
  void release_hold() noexcept { held_back_ = false; }
  // Drops what streams or waits for `group`; returns the delivery id of the one that was
  // streaming (already begun: the client gets ABORT), if it was of `group`.
  [[nodiscard]] std::optional<std::uint64_t> drop_group(const std::string& group);

 private:
  struct Active {
    protocol::Deliver deliver;
    bool begun = false;
    std::uint64_t offset = 0;
  };

  std::optional<Active> active_;
  bool held_back_ = false;
  std::deque<Waiting> waiting_;
  std::set<std::string> last_values_;  // groups whose last value waits
  std::multiset<std::string> groups_;  // of everything waiting
};

}  // namespace zrelay::broker
