#pragma once
// The broker's logic as a pure state machine: decoded client messages and timer ticks in,
// addressed broker messages out. No sockets here; broker/broker.cpp is the ZeroMQ loop around it.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <zrelay/broker_options.hpp>

#include "broker/group.hpp"
#include "protocol/messages.hpp"

namespace zrelay::broker {

struct Outgoing {
  ClientId to;
  protocol::BrokerMessage message;
  // For a produced DELIVER: who produced it, so the item can be re-queued if the send fails.
  ClientId producer;
  std::uint64_t seq = 0;
};

// A message the socket did not take: the peer is gone, or its queue is full.
struct Undelivered {
  Outgoing out;
  bool peer_gone = false;
};

class BrokerCore {
 public:
  explicit BrokerCore(BrokerLimits limits, std::string version = "zrelay");

  // One message from `from`, authenticated as `user_id` (the ZAP User-Id of the message).
  void handle(const ClientId& from, const std::string& user_id, protocol::ClientMessage&& message);
  // A message from `from` that did not decode.
  void reject(const ClientId& from, const Error& error);
  // Sends that failed, in the order they were tried. Produced items go back to the head of
  // their queue (in order), a refused broadcast is resent as the last value, other messages
  // wait in the peer's backlog; all of it is retried on the next tick.
  void undeliverable(std::vector<Undelivered>&& failed);
  // Timer: retries what full peers refused.
  void tick();

  [[nodiscard]] std::vector<Outgoing> take_outbox();

  [[nodiscard]] std::size_t client_count() const noexcept { return clients_.size(); }
  [[nodiscard]] const Group* group(const std::string& name) const;
  [[nodiscard]] const BrokerLimits& limits() const noexcept { return limits_; }

 private:
  struct Client {
    std::string user_id;
    std::string name;
    std::set<std::string> groups;
    std::set<std::string> stale_groups;  // a broadcast to it was refused: resend the last value
    std::vector<protocol::BrokerMessage> backlog;  // replies it could not take yet, in order
  };
  // A client that lets this many replies pile up is not reading: it is forgotten.
  static constexpr std::size_t max_backlog = 10000;

  void on(const ClientId& from, Client& client, protocol::Join&& m);
  void on(const ClientId& from, Client& client, protocol::Leave&& m);
  void on(const ClientId& from, Client& client, protocol::Broadcast&& m);
  void on(const ClientId& from, Client& client, protocol::Produce&& m);
  void on(const ClientId& from, Client& client, protocol::Ready&& m);
  void on(const ClientId& from, Client& client, protocol::Ping&& m);
  void on(const ClientId& from, Client& client, protocol::Bye&& m);
  void on(const ClientId& from, Client& client, protocol::Hello&& m);

  // The group named `name`, created if accepted; sends the error and returns null otherwise.
  Group* find_or_create(const ClientId& from, const std::string& name, std::uint64_t seq);
  void forget(const ClientId& client);
  // Forgets the clients whose backlog overflowed; called when no loop over members is running.
  void forget_overflowed();
  // Puts a produced item back at the head of its queue; returns its group.
  Group* requeue(Outgoing&& out, bool peer_gone);
  void dispatch(Group& group);
  void deliver_produced(const ClientId& to, Group& group, QueuedItem&& item);
  void deliver_last_value(const ClientId& to, Group& group);
  void notify_dropped(Group& group, QueuedItem&& item);
  void error(const ClientId& to, ErrorCode code, std::uint64_t seq, std::string group, std::string text);
  void send(const ClientId& to, protocol::BrokerMessage&& message);

  BrokerLimits limits_;
  std::string version_;
  std::unordered_map<ClientId, Client> clients_;
  std::map<std::string, Group> groups_;
  std::set<std::pair<std::string, ClientId>> suspended_;  // (group, client) refused by a full peer
  std::vector<ClientId> overflowed_;  // backlog over max_backlog: forgotten by forget_overflowed()
  std::uint64_t next_delivery_id_ = 1;
  std::vector<Outgoing> outbox_;
};

}  // namespace zrelay::broker
