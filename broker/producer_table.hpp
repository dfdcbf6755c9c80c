#pragma once
// Idempotent producers: what the broker applied of each producer in this run, so that an object
// sent again after a lost session (same endpoint id, same seq) is not applied twice, and is
// answered as it was the first time. Keyed by (ZAP User-Id, endpoint id): a key can only ever be
// deduplicated against its own endpoint ids.
//
// Per producer: the highest seq applied and which of the 1024 seqs below it were applied (a
// replay window, as IPsec keeps one: objects of one endpoint may reach the broker slightly out
// of order when several application threads send), and the refusals of those seqs. A seq below
// the window counts as applied. An entry lives while a session uses it and for `window` after
// the last one ended; each costs entry_cost, each remembered refusal refusal_cost, in the
// broker's budget. At most max_per_key entries per key: past it the oldest unused one goes,
// and if none is unused the new endpoint id is not remembered (its objects are applied as they
// come, without deduplication).
#include <bitset>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zrelay/object_id.hpp>

#include "broker/payload_account.hpp"
#include "broker/seq_window.hpp"
#include "protocol/messages.hpp"

namespace zrelay::broker {

class ProducerTable {
 public:
  using Clock = std::chrono::steady_clock;
  struct Key {
    std::string user_id;
    EndpointId endpoint{};
    friend auto operator<=>(const Key&, const Key&) = default;
  };

  static constexpr std::size_t window_seqs = SeqWindow::size;
  static constexpr std::size_t max_per_key = 64;
  static constexpr std::size_t max_refusals = 2 * window_seqs;  // per producer (the oldest seqs' go first)
  static constexpr std::uint64_t entry_cost = 512;    // the entry, its bitmap and map nodes
  static constexpr std::uint64_t refusal_cost = 256;  // a remembered ERROR and its text
  // Uploads in progress (or lost with a session) remembered per producer, within entry_cost;
  // past it the oldest is forgotten (a resend of it far behind the window counts as handled).
  static constexpr std::size_t max_uploading = 8;

  ProducerTable(const PayloadAccount& overhead, std::chrono::milliseconds window)
      : overhead_(overhead), window_(window) {}

  // A session of this producer opened; false if its endpoint id cannot be remembered (see
  // above, or a new one when `may_grow` is false: the budget has no room for it).
  bool attach(const Key& key, bool may_grow = true);
  // A session of it ended at `now`.
  void detach(const Key& key, Clock::time_point now);
  // Forgets producers unused for longer than the window.
  void expire(Clock::time_point now);
  // A producer known from the store (a restart): its applied seqs and the uploads it had not
  // completed, unused since `now`.
  void restore(const Key& key, const SeqWindow& seqs, const std::vector<std::uint64_t>& uploading, Clock::time_point now);

  // Nothing: `seq` is new, apply it (and say so with applied()). Otherwise it was applied (or is
  // too old to tell): the refusals it got then, to send again, possibly none.
  [[nodiscard]] std::optional<std::vector<protocol::ErrorReply>> seen(const Key& key, std::uint64_t seq) const;
  void applied(const Key& key, std::uint64_t seq);
  // `seq` counts as not applied after all (it was refused whole and its refusal not kept).
  void unapply(const Key& key, std::uint64_t seq);
  // An upload of `seq` (BEGIN ... CHUNK) was accepted: until uploaded(), `seq` is new to seen()
  // however far behind the highest seq it falls (small objects of the producer go on while a
  // large one uploads), also after its session was lost, so that a resend is judged again.
  void uploading(const Key& key, std::uint64_t seq);
  // Its last chunk came: it is applied now.
  void uploaded(const Key& key, std::uint64_t seq);
  // A refusal sent for an applied seq (queue_full, item_dropped, ...), to answer a resend with.
  void refused(const Key& key, const protocol::ErrorReply& reply);

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] bool remembers(const Key& key) const { return entries_.count(key) != 0; }
  // What the entries are charged in the budget now.
  [[nodiscard]] std::uint64_t bytes() const noexcept;

 private:
  struct Entry {
    SeqWindow seqs;
    std::map<std::uint64_t, std::vector<protocol::ErrorReply>> refusals;  // by seq, inside the window
    std::size_t refusal_count = 0;
    std::set<std::uint64_t> uploading;  // seqs of uploads not complete yet
    Charge charge;  // entry_cost + refusal_cost per remembered refusal
    unsigned sessions = 0;
    Clock::time_point unused_since{};
  };

  [[nodiscard]] std::size_t count_of(const std::string& user_id) const;
  void evict_oldest_unused(const std::string& user_id);
  // Drops refusals that fell out of the window and charges what is left.
  void trim(Entry& entry);

  const PayloadAccount& overhead_;
  std::chrono::milliseconds window_;
  std::map<Key, Entry> entries_;
};

}  // namespace zrelay::broker
