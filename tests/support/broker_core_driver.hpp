#pragma once
// Drives a BrokerCore with message sequences from several clients, a fake clock and a fake
// socket that writes, refuses or loses what the core sends, all chosen by a byte source (a
// fuzzer's input, or a seeded generator in tests/broker/broker_core_simulation_test.cpp).
// After every step it checks the core's invariants (the budget, the unacknowledged bound) and
// at the end what is still charged; it throws InvariantBroken naming the one
// that failed; the same bytes replay the same run exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "broker/broker_core.hpp"
#include "tests/support/applied_once.hpp"
#include "tests/support/store_model.hpp"
#include "protocol/limits.hpp"

namespace zrelay::testing {

// Bytes, read from the front; zeros once they run out.
class ByteSource {
 public:
  explicit ByteSource(std::function<std::uint8_t()> next) : next_(std::move(next)) {}
  ByteSource(const std::uint8_t* data, std::size_t size)
      : next_([data, size, at = std::size_t{0}]() mutable { return at < size ? data[at++] : std::uint8_t{0}; }) {}

  std::uint8_t u8() { return next_(); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : u16() % n; }

 private:
  std::function<std::uint8_t()> next_;
};

class BrokerCoreDriver {
 public:
  static constexpr std::size_t clients = 4;

  BrokerCoreDriver() : core_(std::make_unique<broker::BrokerCore>(limits())) { core_->advance(now_); }

  static BrokerLimits limits() {
    BrokerLimits l;
    // g0 and g1 are durable: their store writes are checked against a model of the store.
    l.accepted_groups = {GroupOptions{"g0", 0, 50, Overflow::refuse, true}, GroupOptions{"g1", 0, 20, Overflow::drop_oldest, true},
                         GroupOptions{"g2", 0, 0, Overflow::refuse}, GroupOptions{"g3", 2, 50, Overflow::refuse}};
    l.max_payload_bytes = 256 * 1024;
    l.max_message_size = 8 * 1024;
    l.max_client_pending_bytes = 16 * 1024;
    l.max_client_pending_messages = 8;
    l.max_client_unacked = 20;
    l.heartbeat = std::chrono::milliseconds(100);
    l.liveness = std::chrono::milliseconds(300);
    return l;
  }

  // One step: a client's message, a tick, or the socket writing, refusing or losing messages.
  void step(ByteSource& in) {
    const std::string client = "c" + std::to_string(in.below(clients));
    const std::string group = "g" + std::to_string(in.below(5));  // g4 is not accepted
    // Weighted towards what reaches the work queue: sessions, joins, items, credits, acks, writes.
    static constexpr std::uint8_t ops[] = {0, 0, 1, 1, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6,
                                           7, 8, 9, 9, 10, 10, 10, 10, 11, 11, 12, 13, 14};
    switch (ops[in.below(sizeof ops)]) {
      case 0: handle(client, protocol::Hello{client, endpoint_id(client)}); break;  // the same endpoint again
      case 1: handle(client, protocol::Join{group}); break;
      case 2: handle(client, protocol::Leave{group}); break;
      case 3: handle(client, protocol::Broadcast{in.u8(), group, payload(in)}); break;
      case 4: handle(client, protocol::Produce{in.u8(), group, copies(in), payload(in)}); break;
      case 5: handle(client, protocol::Ready{group, credits(in)}); break;
      case 6: acknowledge(client, in.below(8)); break;
      case 7: handle(client, protocol::Ping{in.u8()}); break;
      case 8: handle(client, protocol::Bye{}); break;
      case 9: tick(std::chrono::milliseconds(in.below(16) == 0 ? 1000 : 10 * in.below(20))); break;  // now and then past liveness
      case 10: write(in.below(64)); break;
      case 11: refuse(client, in.below(16), in.u8() % 4 == 0); break;
      case 12: handle(client, protocol::Stats{in.u8()}); break;
      case 14: if (in.below(3) == 0) close_connection(client); break;  // rarer than BYE
      default: core_->reject(client, Error(ErrorCode::malformed_message, "fuzz"), key(client)); collect(); break;
    }
    forget_objects_of_forgotten_producers();
    check();
  }

  // Every session ended and everything written: what the core still charges is exactly its
  // queued items; and once the core is gone, every byte it counted is released.
  void finish() {
    core_->shutdown();
    collect();
    in_flight_.clear();
    const BrokerStatistics stats = core_->statistics();
    std::uint64_t queued = 0;
    for (const auto& group : stats.groups) queued += group.queued;
    if (stats.overhead_bytes != queued * broker::BrokerCore::item_cost + stats.producer_bytes) {
      throw InvariantBroken("after shutdown " + std::to_string(stats.overhead_bytes) + " overhead bytes for " +
                            std::to_string(queued) + " queued items and " + std::to_string(stats.producer_bytes) +
                            " bytes of remembered producers");
    }
    const broker::PayloadAccount payloads = core_->account();
    const broker::PayloadAccount overhead = core_->overhead();
    core_.reset();
    if (payloads.bytes() != 0 || overhead.bytes() != 0) {
      throw InvariantBroken("bytes still counted after everything was released: " + std::to_string(payloads.bytes()) +
                            " payload, " + std::to_string(overhead.bytes()) + " overhead");
    }
  }

  [[nodiscard]] const broker::PayloadAccount& account() const { return core_->account(); }
  // Deliveries of produced items seen so far: a schedule that never gets this far tests little.
  [[nodiscard]] std::size_t produced_deliveries() const noexcept { return produced_deliveries_; }

  void check() const {
    const BrokerStatistics stats = core_->statistics();
    const BrokerLimits l = limits();
    // What must be held whatever the budget says is charged without a check (each within a
    // per-client bound): copies of small payloads on their way and replies waiting.
    // JOINs may take memberships past the budget by the core's headroom (consumers can still join).
    std::uint64_t unchecked = stats.closing_backlog * broker::Backlog::entry_cost + core_->membership_headroom();
    for (const auto& session : stats.sessions) unchecked += session.backlog * broker::Backlog::entry_cost;
    for (const auto& out : in_flight_) {
      const auto* d = std::get_if<protocol::Deliver>(&out.message);
      if (d != nullptr && d->payload.size() <= protocol::max_inline_payload) unchecked += d->payload.size();
    }
    if (stats.payload_bytes + stats.overhead_bytes > l.max_payload_bytes + unchecked) {
      throw InvariantBroken("over budget: " + std::to_string(stats.payload_bytes) + " payload + " +
                            std::to_string(stats.overhead_bytes) + " overhead");
    }
    for (const auto& session : stats.sessions) {
      if (session.unacked > l.max_client_unacked) throw InvariantBroken(session.name + " holds over its unacked bound");
    }
    if (stats.clients > clients) throw InvariantBroken("more sessions than clients");
    for (const auto& group : stats.groups) {
      const bool durable = group.name == "g0" || group.name == "g1";
      if (durable && store_.items(group.name) != group.queued + group.unacked) {
        throw InvariantBroken(group.name + ": the store holds " + std::to_string(store_.items(group.name)) + " items, the group " +
                              std::to_string(group.queued) + " queued and " + std::to_string(group.unacked) + " unacknowledged");
      }
    }
    if (core_->durable().bytes() != store_.bytes()) {
      throw InvariantBroken("the core counts " + std::to_string(core_->durable().bytes()) + " store bytes, the records " +
                            std::to_string(store_.bytes()));
    }
  }

 private:
  static std::string key(const std::string& client) { return "key-" + client; }

  static zmq::message_t payload(ByteSource& in) {
    const std::size_t size = in.below(6) == 0 ? in.below(9000) : in.below(64);  // some over max_message_size
    return zmq::message_t(std::string(size, 'p'));
  }

  static std::uint32_t copies(ByteSource& in) {
    return static_cast<std::uint32_t>(1 + (in.below(8) == 0 ? in.below(1000) : in.below(4)));
  }

  static std::int32_t credits(ByteSource& in) {
    switch (in.below(4)) {
      case 0: return -1;
      case 1: return 0;
      case 2: return INT32_MAX;
      default: return static_cast<std::int32_t>(in.below(100));
    }
  }

  void handle(const std::string& client, protocol::ClientMessage&& message) {
    core_->handle(client, key(client), std::move(message));
    collect();
  }

  void acknowledge(const std::string& client, std::size_t count) {
    auto& ids = delivered_[client];
    std::vector<std::uint64_t> acked(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(count, ids.size())));
    ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(acked.size()));
    if (count % 3 == 0) acked.push_back(999999);  // an id nobody holds
    handle(client, protocol::Ack{std::move(acked)});
  }

  void tick(std::chrono::milliseconds later) {
    now_ += later;
    core_->tick(now_);
    collect();
  }

  // libzmq wrote the oldest `count` messages: they are released.
  void write(std::size_t count) {
    count = std::min(count, in_flight_.size());
    in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(count));
  }

  // The socket refused (or found gone) the newest `count` of what waits for `client`: what did
  // not fit after what did, handed back in the order it was tried.
  void refuse(const std::string& client, std::size_t count, bool gone) {
    std::vector<broker::Undelivered> failed;
    for (auto it = in_flight_.end(); it != in_flight_.begin() && failed.size() < count;) {
      --it;
      if (it->to != client) continue;
      failed.push_back(broker::Undelivered{std::move(*it), gone});
      it = in_flight_.erase(it);
    }
    if (failed.empty()) return;
    std::reverse(failed.begin(), failed.end());
    core_->undeliverable(std::move(failed));
    collect();
  }

  // The client's connection closed: what the socket still held for it is dropped unwritten, and
  // the socket says so (ZMQ_ROUTER_NOTIFY).
  void close_connection(const std::string& client) {
    std::erase_if(in_flight_, [&](const broker::Outgoing& out) { return out.to == client; });
    core_->connection_closed(client);
    collect();
  }

  // The core deduplicates an endpoint's objects only while it remembers the endpoint (a bounded
  // window after its last session, budget permitting): once it forgot it, a resend may be
  // applied again, as docs/protocol.md says.
  // Notes, for each endpoint the core does not remember now, the first delivery id applied
  // after this moment: items applied on both sides of it may be the same object.
  void forget_objects_of_forgotten_producers() {
    for (std::uint8_t n = 1; n <= clients; ++n) {
      const EndpointId producer{n};
      if (core_->producers().remembers({key("c" + std::to_string(n - 1)), producer})) continue;
      applied_once_.forgotten(producer, core_->next_delivery_id());
    }
  }

  // Client "cN" is always the same endpoint: id N + 1 (a new HELLO after BYE is a reconnect).
  static EndpointId endpoint_id(const std::string& client) {
    EndpointId id{};
    id[0] = static_cast<std::uint8_t>(std::stoi(client.substr(1)) + 1);
    return id;
  }

  void collect() {
    store_.apply(core_->take_store_batch());
    for (auto& out : core_->take_outbox()) {
      if (const auto* d = std::get_if<protocol::Deliver>(&out.message); d != nullptr && d->kind == Kind::produced) {
        delivered_[out.to].push_back(d->delivery_id);
        // Idempotent producers: an object (endpoint id, seq, copy) is applied once, so it only
        // ever travels under one delivery id, however often its seq is sent again.
        // (Seq 0 means "none": such objects are not deduplicated and their ids not unique.)
        const bool identified = d->object.seq != 0 && d->object.producer != EndpointId{};
        if (identified) applied_once_.delivered(d->object, d->delivery_id);
        ++produced_deliveries_;
      }
      in_flight_.push_back(std::move(out));
    }
    while (in_flight_.size() > 20000) in_flight_.pop_front();  // a socket holds so much at most
  }

  std::unique_ptr<broker::BrokerCore> core_;
  broker::Clock::time_point now_{};
  std::deque<broker::Outgoing> in_flight_;                    // sent, not yet written by "libzmq"
  std::map<std::string, std::vector<std::uint64_t>> delivered_;  // produced delivery ids to acknowledge
  AppliedOnce applied_once_;
  StoreModel store_;  // what the durable groups' writes so far add up to
  std::size_t produced_deliveries_ = 0;
};

}  // namespace zrelay::testing
