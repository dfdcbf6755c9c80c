#pragma once
// The broker's logic as a pure state machine: decoded client messages and timer ticks in,
// addressed broker messages out. No sockets here; broker/broker.cpp is the ZeroMQ loop around it.
#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <zrelay/broker_options.hpp>
#include <zrelay/broker_stats.hpp>

#include "auth/access_policy.hpp"
#include "auth/allow_list.hpp"
#include "broker/backlog.hpp"
#include "broker/delivery_stream.hpp"
#include "broker/durable_log.hpp"
#include "broker/group.hpp"
#include "broker/payload_account.hpp"
#include "broker/producer_table.hpp"
#include "broker/upload.hpp"
#include "protocol/limits.hpp"
#include "protocol/messages.hpp"

namespace zrelay::broker {

using Clock = std::chrono::steady_clock;

struct Outgoing {
  ClientId to;
  protocol::BrokerMessage message;
  // For a produced DELIVER: who produced it, so the item can be re-queued if the send fails.
  ClientId producer;
  std::uint64_t seq = 0;
};

// Something worth a log line (the broker loop writes it); never payload bytes or secrets.
struct LogEvent {
  enum class Level : std::uint8_t { debug, info, warning };
  Level level = Level::info;
  std::string text;
};

// A message the socket did not take: the peer is gone, or its queue is full.
struct Undelivered {
  Outgoing out;
  bool peer_gone = false;
};

class BrokerCore {
 public:
  explicit BrokerCore(BrokerLimits limits, std::string version = "zrelay", std::uint64_t instance = 0);

  // The time of the messages handled next (the liveness of clients is measured with it).
  void advance(Clock::time_point now) noexcept { now_ = now; }
  // The keys allowed now and what each may do. Clients whose key is gone are forgotten (GOODBYE
  // revoked); memberships and credits the rules no longer allow are dropped. Until this is
  // called every user id is allowed, named by itself (for tests of the logic alone).
  void set_access(std::shared_ptr<const auth::AllowList> keys, auth::AccessPolicy policy);
  // One message from `from`, authenticated as `user_id` (the ZAP User-Id of the message: the
  // client's Z85 public key). A key not allowed now gets not_authorized, whatever it sends.
  void handle(const ClientId& from, const std::string& user_id, protocol::ClientMessage&& message);
  // A message from `from` (authenticated as `user_id`, if known) that did not decode or could not
  // be handled: an ERROR reply and a log line.
  void reject(const ClientId& from, const Error& error, const std::string& user_id = {});
  // Sends that failed, in the order they were tried. Produced items go back to the head of
  // their queue (in order), a refused broadcast is resent as the last value, other messages
  // wait in the peer's backlog; all of it is retried on the next tick.
  void undeliverable(std::vector<Undelivered>&& failed);
  // The connection of `client` closed (the socket said so): its session is forgotten now, its
  // unacknowledged items go back to their queues, and what still waited for it is dropped.
  void connection_closed(const ClientId& client);
  // Timer: forgets clients silent for longer than limits.liveness, retries what full peers
  // refused and what waited for a connection that was behind.
  void tick(Clock::time_point now);
  void tick() { tick(now_); }
  // Sends the next chunks of the objects streaming to clients whose connections have room.
  void pump_streams();
  // Called (on any thread) whenever libzmq released a chunk: the loop should pump_streams().
  void set_stream_wakeup(std::function<void()> wake) {
    stream_wakeup_ = std::make_shared<const std::function<void()>>(std::move(wake));
  }
  // The broker is stopping: every client gets what still waits for it, then GOODBYE
  // (shutting_down), and is forgotten. Nothing is handed out again.
  void shutdown();

  // What a store held at start (durable groups): queues in order, last values, the producers'
  // applied seqs. Call once, before the first message.
  void restore(StoredState&& state);
  // What this turn changed in durable groups: to be committed (and synced) before any message
  // of take_outbox() leaves.
  [[nodiscard]] bool store_pending() const noexcept { return durable_.confirming(); }
  [[nodiscard]] bool store_dirty() const noexcept { return durable_.pending(); }
  [[nodiscard]] StoreBatch take_store_batch() { return durable_.take(); }
  // What the store's file system has room for now (DurableStore::room): durable objects past it
  // get storage_failed.
  void set_store_room(std::uint64_t bytes) noexcept { durable_.set_room(bytes); }
  [[nodiscard]] const DurableLog& durable() const noexcept { return durable_; }

  [[nodiscard]] std::vector<Outgoing> take_outbox();
  [[nodiscard]] std::size_t outbox_size() const noexcept { return outbox_.size(); }
  [[nodiscard]] std::vector<LogEvent> take_log();

  [[nodiscard]] std::size_t client_count() const noexcept { return clients_.size(); }
  // The producer table (idempotent producers), for checks.
  [[nodiscard]] const ProducerTable& producers() const noexcept { return producers_; }
  // How far memberships may take the held bytes past max_payload_bytes (see membership_fits).
  [[nodiscard]] std::uint64_t membership_headroom() const noexcept;
  // The delivery id the next produced item gets (ids only grow), for checks.
  [[nodiscard]] std::uint64_t next_delivery_id() const noexcept { return next_delivery_id_; }
  [[nodiscard]] const Group* group(const std::string& name) const;
  [[nodiscard]] const BrokerLimits& limits() const noexcept { return limits_; }
  [[nodiscard]] BrokerStatistics statistics() const;
  // Payloads are tracked by this account (see PayloadAccount).
  [[nodiscard]] const PayloadAccount& account() const noexcept { return account_; }
  // What items cost besides payloads, and copies of small payloads on their way.
  [[nodiscard]] const PayloadAccount& overhead() const noexcept { return overhead_; }

  // A client that lets this many replies pile up is not reading: it is forgotten.
  static constexpr std::size_t max_backlog = 10000;
  // Charged to the payload budget for each queued or unacknowledged item besides its payload:
  // the queue entry, the held-map node, the item's message and producer (measured about 130 B
  // with libstdc++ and libzmq 4.3; rounded up).
  static constexpr std::uint64_t item_cost = 256;
  // Charged for each membership: the name in the client's set, the group's member and credit
  // entries (about 150 B measured for short names; rounded up).
  static constexpr std::uint64_t membership_cost = 256;
  // Uploads (BEGIN ... CHUNK) one session may have in progress at once.
  static constexpr std::size_t max_uploads = 4;
  // Uploads one session may have on record at once, those being swallowed (refused, or handled
  // before) included.
  static constexpr std::size_t max_upload_records = 16;
  // The next chunk of a stream goes to a client once less than this waits in its connection:
  // enough to keep a fast link busy, little for what interleaves (a PONG waits behind at most
  // this and the kernel's buffer).
  static constexpr std::uint64_t stream_window = 2 * protocol::chunk_size;

 private:
  struct Held {  // a produced item delivered and not yet acknowledged
    std::string group;
    QueuedItem item;
    std::uint64_t order = 0;  // when it was handed out, for putting items back in delivery order
  };
  struct Client {
    std::string user_id;
    auth::Identity identity;
    std::string name;  // what it said in HELLO
    EndpointId endpoint{};  // what it said in HELLO (all zero: none)
    std::optional<ProducerTable::Key> producer;  // remembered for deduplication
    Clock::time_point last_seen;
    std::set<std::string> groups;
    Charge memberships;  // membership_cost for each of `groups`, in the budget
    Backlog backlog;  // replies it could not take yet, in order
    DeliveryStreams streams;  // objects over chunk_size on their way to it
    Clock::time_point stream_progress;  // when its stream last started or sent a chunk
    std::map<std::uint64_t, Upload> uploads;  // by seq
    std::map<std::uint64_t, Held> held;  // by delivery id
    PayloadAccount pending;  // bytes handed to its connection and not yet written
    Clock::time_point since;
    std::uint64_t messages_in = 0;
    std::uint64_t deliveries_out = 0;
  };
  // A client that said BYE: forgotten, but GOODBYE and the replies before it are still to go.
  struct Closing {
    Backlog backlog;
    Clock::time_point since;
  };

  void on(const ClientId& from, Client& client, protocol::Join&& m);
  void on(const ClientId& from, Client& client, protocol::Leave&& m);
  void on(const ClientId& from, Client& client, protocol::Broadcast&& m);
  void on(const ClientId& from, Client& client, protocol::Produce&& m);
  void on_new(const ClientId& from, Client& client, protocol::Broadcast&& m);  // not seen before
  void on_new(const ClientId& from, Client& client, protocol::Produce&& m);
  void on(const ClientId& from, Client& client, protocol::Ready&& m);
  void on(const ClientId& from, Client& client, protocol::Ping&& m);
  void on(const ClientId& from, Client& client, protocol::Bye&& m);
  void on(const ClientId& from, Client& client, protocol::Hello&& m);
  void on(const ClientId& from, Client& client, protocol::Ack&& m);
  void on(const ClientId& from, Client& client, protocol::Stats&& m);
  void on(const ClientId& from, Client& client, protocol::Begin&& m);
  void on(const ClientId& from, Client& client, protocol::Chunk&& m);
  // False (and the error sent) if the object BEGIN announces would be refused whole.
  bool upload_acceptable(const ClientId& from, Client& client, const protocol::Begin& m);
  // True (and the error sent) for a BROADCAST or PRODUCE over chunk_size: those come in chunks.
  bool refused_unchunked(const ClientId& from, const protocol::ClientMessage& message);
  // True if the client gets `group`'s last value through its streams: the value is large, or an
  // object of the group streams or waits there already (nothing may overtake it).
  [[nodiscard]] static bool streamed(const Client& client, const Group& group);
  // The last chunk of an upload came: the object is handled as the BROADCAST or PRODUCE it is.
  void apply_upload(const ClientId& from, Client& client, Upload&& upload);
  // Starts what waits in the client's streams and sends chunks while its connection has room.
  void pump_stream(const ClientId& id, Client& client);
  // A stream's next object resolved: a produced item as it is, a last value as the newest one.
  [[nodiscard]] std::optional<protocol::Deliver> resolve(Client& client, DeliveryStreams::Waiting&& waiting);
  // Messages of a stream the socket did not take are sent again from there; false if not a stream's.
  bool give_back_stream(const ClientId& id, const protocol::BrokerMessage& message);

  // The identity of an allowed key, or nothing.
  [[nodiscard]] std::optional<auth::Identity> identify(const std::string& user_id) const;
  // False (and ERROR not_authorized sent) if the rules do not let `client` do `action` on `group`.
  bool permitted(const ClientId& from, const Client& client, Action action, const std::string& group, std::uint64_t seq);
  // After new rules: drops what `client` may no longer hold.
  void recheck_rights(const ClientId& id, Client& client);
  void leave(const ClientId& id, Client& client, const std::string& group);
  void charge_memberships(Client& client) const;
  [[nodiscard]] std::string statistics_json() const;
  [[nodiscard]] static GroupStatistics group_statistics(const Group& group, std::size_t unacked);
  [[nodiscard]] ClientStatistics session_statistics(const ClientId& id, const Client& client) const;
  void log(LogEvent::Level level, std::string text);
  [[nodiscard]] static std::string describe(const Client& client);
  // The entry of `name` in limits.accepted_groups, or null.
  [[nodiscard]] const GroupOptions* accepted_group(const std::string& name) const;
  // The group named `name`, created if accepted; sends the error and returns null otherwise.
  Group* find_or_create(const ClientId& from, const std::string& name, std::uint64_t seq);
  // True if `bytes` more fit in max_payload_bytes, payloads and overhead counted.
  [[nodiscard]] bool budget_has_room(std::uint64_t bytes) const noexcept;
  // A JOIN may take memberships past the budget by membership_headroom(): producers are refused
  // at the budget, consumers can still join and drain what fills it (refusing their JOINs left
  // a full broker with nobody to take its items, a livelock the endpoint simulation found).
  [[nodiscard]] bool membership_fits() const noexcept;
  // False (and ERROR over_budget sent) if a payload of `size` bytes does not fit the budget.
  bool fits_budget(const ClientId& from, std::size_t size, std::uint64_t seq, Group& group);
  // False (and ERROR storage_failed sent) if `group` is durable and `copies` items of `size`
  // bytes do not fit its store (too_large past max_message_size: each copy is stored).
  bool fits_store(const ClientId& from, std::uint64_t size, std::uint32_t copies, std::uint64_t seq, Group& group);
  // The payloads of restored items, tracked in the account (shared copies once).
  [[nodiscard]] std::vector<zmq::message_t> restored_payloads(std::vector<StoredItem>& items);
  // Forgets a client: its unacknowledged items go back to the head of their queues.
  // GOODBYE tells it why, unless its connection is gone (no reason).
  void forget(const ClientId& client, std::optional<protocol::GoodbyeReason> reason);
  void return_held(Client& client, const std::string* only_group);
  // Forgets the clients whose backlog overflowed; called when no loop over members is running.
  void forget_overflowed();
  void expire_silent();
  // Forgets clients whose stream took no chunk for stalled_stream_limit(): a member that never
  // reads would keep the value it receives (maybe gigabytes) forever.
  void expire_stalled();
  [[nodiscard]] Clock::duration stalled_stream_limit() const noexcept { return limits_.liveness * 10; }
  // Puts a produced item whose send failed back at the head of its queue; returns its group.
  Group* requeue(Outgoing&& out, bool peer_gone);
  void dispatch(Group& group);
  void deliver_produced(const ClientId& to, Group& group, QueuedItem&& item);
  void deliver_last_value(const ClientId& to, Group& group);
  [[nodiscard]] Outgoing last_value_delivery(const ClientId& to, Client& client, Group& group);
  // The DELIVER of the group's last value, counted as a delivery to `client`; its payload a
  // share of the value, not yet counted as pending for the client.
  [[nodiscard]] protocol::Deliver last_value_deliver(Client& client, Group& group);
  // Sends what waits in `backlog`, in order, until the client's connection is behind.
  // `client` is null for a closing client (its last values are not sent any more).
  void flush_backlog(const ClientId& id, Client* client, Backlog& backlog);
  // Messages a full peer refused go back in front of what waits for it.
  void wait_again(const ClientId& id, std::vector<protocol::BrokerMessage>&& refused);
  void retry_closing();
  void note_backlog(const ClientId& id, const Client& client);
  [[nodiscard]] bool over_pending_limit(const Client& client) const noexcept;
  // Over its pending limits or at its bound of unacknowledged items: no item goes to it now.
  [[nodiscard]] bool takes_no_items(const Client& client) const noexcept;
  // A delivery's payload, counted in `client`'s pending account and, for a small payload that
  // travels copied into the header frame, in the budget too.
  [[nodiscard]] zmq::message_t delivery_payload(Client& client, zmq::message_t& payload) const;
  // Resumes and dispatches every group of a client that was held back by its unacknowledged bound.
  void resume_groups(const ClientId& id, const Client& client);
  // Items pushed out of a full drop-oldest queue, counted by the object (producer, seq) they were of.
  using Drops = std::map<std::pair<ClientId, std::uint64_t>, std::uint32_t>;
  void notify_dropped(const Group& group, const Drops& drops);
  // True if this BROADCAST or PRODUCE was applied before in this broker run (a resend after a
  // lost session): what it was answered then is sent again. Otherwise marks it applied.
  bool seen_before(const ClientId& from, const Client& client, std::uint64_t seq);
  // A refusal of the BROADCAST or PRODUCE being handled: a PRODUCE refused whole counts as not
  // applied (a resend is judged again); otherwise the refusal is kept for resends, budget permitting.
  void remember_refusal(const ProducerTable::Key& producer, const protocol::ErrorReply& reply, bool keep_applied);
  void error(const ClientId& to, ErrorCode code, std::uint64_t seq, std::string group, std::string text);
  void send(const ClientId& to, protocol::BrokerMessage&& message);

  BrokerLimits limits_;
  std::shared_ptr<const auth::AllowList> keys_;  // null: every user id allowed (see set_access)
  auth::AccessPolicy policy_;
  std::string version_;
  std::uint64_t instance_;
  Clock::time_point now_{};
  PayloadAccount account_;   // payloads
  PayloadAccount overhead_;  // what items cost besides payloads, and small payloads' delivery copies
  DurableLog durable_{limits_.max_store_bytes};
  ProducerTable producers_{overhead_, limits_.liveness * 10};
  // The BROADCAST or PRODUCE being handled, whose refusals the producer table keeps.
  struct Handling {
    ClientId from;
    std::uint64_t seq = 0;
    const ProducerTable::Key* producer = nullptr;
    bool keep_applied = false;  // a refusal leaves it applied (a broadcast; copies partly queued)
  };
  std::optional<Handling> handling_;
  std::unordered_map<ClientId, Client> clients_;
  std::unordered_map<ClientId, Closing> closing_;
  std::map<std::string, Group> groups_;
  std::set<std::pair<std::string, ClientId>> suspended_;  // (group, client) refused by a full peer
  std::vector<ClientId> overflowed_;  // backlog over max_backlog: forgotten by forget_overflowed()
  std::uint64_t next_delivery_id_ = 1;
  std::uint64_t handed_out_ = 0;  // produced deliveries so far: Held::order
  std::uint64_t expired_clients_ = 0;
  std::uint64_t disconnected_clients_ = 0;  // forgotten because their connection closed
  std::uint64_t overflowed_clients_ = 0;
  std::uint64_t late_acks_ = 0;
  std::uint64_t refused_sends_ = 0;  // messages a connection's send queue refused (tried again later)
  std::uint64_t refused_over_budget_ = 0;
  std::uint64_t refused_storage_ = 0;
  std::uint64_t malformed_messages_ = 0;
  std::uint64_t refused_not_authorized_ = 0;
  std::uint64_t revoked_clients_ = 0;
  std::vector<Outgoing> outbox_;
  std::vector<LogEvent> log_;
  std::shared_ptr<const std::function<void()>> stream_wakeup_;
};

}  // namespace zrelay::broker
