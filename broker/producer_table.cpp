#include "broker/producer_table.hpp"

namespace zrelay::broker {

bool ProducerTable::attach(const Key& key, bool may_grow) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (!may_grow) return false;
    if (count_of(key.user_id) >= max_per_key) evict_oldest_unused(key.user_id);
    if (count_of(key.user_id) >= max_per_key) return false;
    it = entries_.emplace(key, Entry{}).first;
    it->second.charge = overhead_.charge(entry_cost);
  }
  ++it->second.sessions;
  return true;
}

std::size_t ProducerTable::count_of(const std::string& user_id) const {
  std::size_t count = 0;
  for (auto e = entries_.lower_bound(Key{user_id, {}}); e != entries_.end() && e->first.user_id == user_id; ++e) ++count;
  return count;
}

void ProducerTable::detach(const Key& key, Clock::time_point now) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.sessions == 0) return;
  if (--it->second.sessions == 0) it->second.unused_since = now;
}

void ProducerTable::expire(Clock::time_point now) {
  std::erase_if(entries_, [&](const auto& entry) {
    return entry.second.sessions == 0 && now - entry.second.unused_since > window_;
  });
}

void ProducerTable::restore(const Key& key, const SeqWindow& seqs, const std::vector<std::uint64_t>& uploading,
                            Clock::time_point now) {
  Entry& entry = entries_[key];
  entry.seqs = seqs;
  entry.uploading.insert(uploading.begin(), uploading.end());
  entry.unused_since = now;
  entry.charge = overhead_.charge(entry_cost);
}

std::optional<std::vector<protocol::ErrorReply>> ProducerTable::seen(const Key& key, std::uint64_t seq) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || seq == 0) return std::nullopt;
  const Entry& entry = it->second;
  if (!entry.seqs.covers(seq) || entry.uploading.count(seq) != 0) return std::nullopt;
  const auto refusals = entry.refusals.find(seq);
  return refusals == entry.refusals.end() ? std::vector<protocol::ErrorReply>{} : refusals->second;
}

void ProducerTable::applied(const Key& key, std::uint64_t seq) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || seq == 0) return;
  if (it->second.seqs.mark(seq)) trim(it->second);
}

void ProducerTable::unapply(const Key& key, std::uint64_t seq) {
  const auto it = entries_.find(key);
  if (it != entries_.end()) it->second.seqs.unmark(seq);
}

void ProducerTable::uploading(const Key& key, std::uint64_t seq) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || seq == 0) return;
  unapply(key, seq);
  auto& uploads = it->second.uploading;
  uploads.insert(seq);
  if (uploads.size() > max_uploading) uploads.erase(uploads.begin());
}

void ProducerTable::uploaded(const Key& key, std::uint64_t seq) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  it->second.uploading.erase(seq);
  applied(key, seq);
}

void ProducerTable::refused(const Key& key, const protocol::ErrorReply& reply) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || reply.seq == 0) return;
  Entry& entry = it->second;
  if (reply.seq > entry.seqs.highest || reply.seq < entry.seqs.oldest()) return;
  entry.refusals[reply.seq].push_back(reply);
  ++entry.refusal_count;
  trim(entry);
}

void ProducerTable::trim(Entry& entry) {
  const std::uint64_t oldest = entry.seqs.oldest();
  for (auto it = entry.refusals.begin();
       it != entry.refusals.end() && (it->first < oldest || entry.refusal_count > max_refusals);) {
    entry.refusal_count -= it->second.size();
    it = entry.refusals.erase(it);
  }
  entry.charge = overhead_.charge(entry_cost + refusal_cost * entry.refusal_count);
}

std::uint64_t ProducerTable::bytes() const noexcept {
  std::uint64_t total = 0;
  for (const auto& [key, entry] : entries_) total += entry_cost + refusal_cost * entry.refusal_count;
  return total;
}

void ProducerTable::evict_oldest_unused(const std::string& user_id) {
  auto oldest = entries_.end();
  for (auto e = entries_.lower_bound(Key{user_id, {}}); e != entries_.end() && e->first.user_id == user_id; ++e) {
    if (e->second.sessions == 0 && (oldest == entries_.end() || e->second.unused_since < oldest->second.unused_since)) {
      oldest = e;
    }
  }
  if (oldest != entries_.end()) entries_.erase(oldest);
}

}  // namespace zrelay::broker
