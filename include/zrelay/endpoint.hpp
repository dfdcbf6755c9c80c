#pragma once
// zrelay::Endpoint: a member of one or more groups behind a zrelay broker. tlspyo's Endpoint in
// C++: broadcast, produce, notify, pop, get_last, receive_all, stop.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/serialization/string.hpp>  // string literals go as std::string

#include <zrelay/connection.hpp>
#include <zrelay/endpoint_options.hpp>
#include <zrelay/error.hpp>
#include <zrelay/message.hpp>
#include <zrelay/refusal.hpp>
#include <zrelay/serialization.hpp>

namespace zrelay {

using Timeout = std::chrono::milliseconds;
inline constexpr Timeout no_wait{0};
inline constexpr Timeout forever = Timeout::max();

// Where send_object sends: group -> count; count < 0 broadcasts, count > 0 produces that many copies.
using Destinations = std::map<std::string, int, std::less<>>;

class Endpoint {
 public:
  // Connects, authenticates and joins options.groups; returns once the broker has accepted all.
  // Throws zrelay::Error: not_authorized (the broker refused this key), timeout (no broker,
  // wrong address or wrong broker key), unknown_group / group_full (a join was refused), certificate.
  explicit Endpoint(EndpointOptions options);
  ~Endpoint();  // stop()
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;
  Endpoint(Endpoint&&) noexcept;
  Endpoint& operator=(Endpoint&&) noexcept;

  // Sets the group's last value and sends it to every member; members joining later get it first.
  // Returns the sequence number that errors about this object carry (Error::seq in take_errors()).
  // A string literal or a `const char*` goes as the std::string it spells (as<std::string>()).
  template <class T>
  std::uint64_t broadcast(const T& object, std::string_view group) {
    return send_payload(payload_of(object), group, -1);
  }
  // Appends `copies` items to the group's work queue; each goes to exactly one notifying member.
  template <class T>
  std::uint64_t produce(const T& object, std::string_view group, unsigned copies = 1) {
    return send_payload(payload_of(object), group, copies_count(copies));
  }
  // tlspyo's send_object(obj, {group: count}): one serialization, several destinations
  // (count < 0 broadcasts, > 0 produces that many copies). Every destination is checked before
  // anything is sent: a bad one (count 0 or over 65535, an invalid group name, an object over
  // the broker's limit, no destination at all) throws Error and nothing went. Returns the seq of each
  // destination, in the order of `destinations`.
  template <class T>
  std::vector<std::uint64_t> send_object(const T& object, const Destinations& destinations) {
    return send_payload_to(payload_of(object), destinations);
  }

  // The same with bytes as they are (for peers in other languages).
  std::uint64_t broadcast_raw(std::span<const std::byte> bytes, std::string_view group);
  std::uint64_t broadcast_raw(std::string_view bytes, std::string_view group);
  std::uint64_t produce_raw(std::span<const std::byte> bytes, std::string_view group, unsigned copies = 1);
  std::uint64_t produce_raw(std::string_view bytes, std::string_view group, unsigned copies = 1);

  // Asks for produced items of `group`: credits > 0, up to that many (they wait at the broker
  // until items come); credits < 0, every item queued right now.
  void notify(std::string_view group, int credits = 1);

  // Received objects, oldest first. In AckMode::on_take (the default) the produced items among
  // them are acknowledged now: the broker gives an item to another consumer only if this
  // endpoint dies or leaves before taking it. A zero timeout never blocks; `forever` waits for at least one.
  // Throws zrelay::Error if nothing is left and the endpoint is stopped or has failed, and
  // Error(invalid_argument) for max_items 0 (here and in get_last).
  [[nodiscard]] std::vector<Message> pop(std::size_t max_items = 1, Timeout timeout = no_wait);
  // The newest max_items objects (oldest of them first); older ones are discarded (and, for
  // produced items in AckMode::on_take, acknowledged: the application chose to skip them). In
  // AckMode::manual older produced items are not discarded (they would stay unacknowledged at
  // the broker until this endpoint stops): they stay in the local queue, in order, for pop().
  [[nodiscard]] std::vector<Message> get_last(std::size_t max_items = 1, Timeout timeout = no_wait);
  [[nodiscard]] std::vector<Message> receive_all(Timeout timeout = no_wait);

  // AckMode::manual: the application is done with these produced items (others are ignored).
  // An item not acknowledged when this endpoint stops, dies or loses its session goes to
  // another consumer (at-least-once: the same delivery_id() may then be seen twice).
  void ack(const Message& message);
  void ack(std::span<const Message> messages);

  // The connection's state; sessions lost are opened again by themselves (EndpointOptions::reconnect).
  [[nodiscard]] ConnectionState connection_state() const;
  // Waits until the state is `state`; false past the timeout.
  [[nodiscard]] bool wait_for_connection_state(ConnectionState state, Timeout timeout) const;
  // What happened to the connection since the last call (lost, reopened, broker restarted, ...).
  [[nodiscard]] std::vector<ConnectionEvent> take_connection_events();
  [[nodiscard]] EndpointStatistics statistics() const;

  // Waits until the broker has handled everything this endpoint sent before, and everything the
  // broker sent to it before is in the local queue. Throws Error(timeout) past the timeout,
  // which counts time without progress: while the broker confirms more of a large object this
  // endpoint uploads, the wait goes on (an object takes as long as the link needs).
  void sync(Timeout timeout = std::chrono::seconds(10));

  // The broker's statistics as a JSON document (groups and sessions; see docs/operations.md).
  // Needs the `stats` right. Throws Error: not_authorized, timeout, closed.
  [[nodiscard]] std::string broker_statistics(Timeout timeout = std::chrono::seconds(10));

  // What the broker refused since the last call (queue_full, item_dropped, unknown_group, ...).
  // At most 65536 wait unread; more are counted in statistics().dropped_refusals.
  [[nodiscard]] std::vector<Refusal> take_refusals();

  // Sends everything still queued, waits for the broker to confirm it handled all of it, closes.
  // If no confirmation comes within stop_timeout (time without progress of an upload, as for
  // sync) it closes anyway and throws Error(timeout):
  // objects sent just before may be lost. Idempotent. Received broadcasts stay available to pop();
  // produced items not taken yet are dropped here, as the broker gives them to another consumer.
  // The destructor stops too, without throwing.
  void stop();

  [[nodiscard]] std::uint64_t max_message_size() const;
  // This endpoint's id (random, chosen when it was created): the producer part of the
  // ObjectId of everything it sends. Its sessions all use it, so the broker applies an object
  // it sends again after a lost session only once.
  [[nodiscard]] EndpointId id() const;

 private:
  class Impl;
  // `copies` as a destination count; throws for 0 or more than 65535.
  static int copies_count(unsigned copies);
  template <class T>
  static std::vector<char> payload_of(const T& object) {
    if constexpr (std::is_array_v<T> && std::is_same_v<std::remove_cv_t<std::remove_extent_t<T>>, char>) {
      return serialize(std::string(object));
    } else if constexpr (std::is_same_v<std::decay_t<T>, const char*> || std::is_same_v<std::decay_t<T>, char*>) {
      return serialize(std::string(object));
    } else {
      return serialize(object);
    }
  }
  std::uint64_t send_payload(std::vector<char>&& payload, std::string_view group, int count);
  std::vector<std::uint64_t> send_payload_to(std::vector<char>&& payload, const Destinations& destinations);

  std::unique_ptr<Impl> impl_;
};

}  // namespace zrelay
