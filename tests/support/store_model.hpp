#pragma once
// What a store holds after BrokerCore's StoreBatches, applied as DurableStore would apply them,
// with the checks a real store cannot make: an item is stored once, only stored items are
// delivered again or erased, and what the core counts against max_store_bytes is what the
// records add up to.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "broker/store_batch.hpp"
#include "tests/support/applied_once.hpp"

namespace zrelay::testing {

class StoreModel {
 public:
  void apply(const broker::StoreBatch& batch) {
    for (const broker::StoreOp& op : batch.ops) std::visit([this](const auto& o) { on(o); }, op);
  }

  // Items of `group` in the store.
  [[nodiscard]] std::size_t items(const std::string& group) const {
    std::size_t count = 0;
    for (const auto& [key, size] : items_) count += key.first == group ? 1 : 0;
    return count;
  }

  // What the records count against max_store_bytes (broker::store_record_cost each, items two).
  [[nodiscard]] std::uint64_t bytes() const {
    std::uint64_t total = (groups_.size() + producers_.size()) * broker::store_record_cost;
    for (const auto& [key, size] : items_) total += size + 2 * broker::store_record_cost;
    for (const auto& [group, size] : last_values_) total += size + broker::store_record_cost;
    return total;
  }

 private:
  using Item = std::pair<std::string, std::uint64_t>;

  void on(const broker::store_op::PutGroup& op) { groups_.insert(op.options.name); }
  void on(const broker::store_op::PutItem& op) {
    if (!items_.emplace(Item{op.group, op.id}, op.payload.size()).second) {
      throw InvariantBroken("item " + std::to_string(op.id) + " of " + op.group + " stored twice");
    }
  }
  void on(const broker::store_op::PutAttempts& op) { expect_stored(op.group, op.id, "delivered"); }
  void on(const broker::store_op::EraseItem& op) {
    expect_stored(op.group, op.id, "erased");
    items_.erase({op.group, op.id});
  }
  void on(const broker::store_op::PutLastValue& op) { last_values_[op.group] = op.payload.size(); }
  void on(const broker::store_op::PutProducer& op) { producers_.insert(key(op.key)); }
  void on(const broker::store_op::EraseProducer& op) { producers_.erase(key(op.key)); }

  void expect_stored(const std::string& group, std::uint64_t id, const char* what) const {
    if (items_.count({group, id}) == 0) {
      throw InvariantBroken("item " + std::to_string(id) + " of " + group + " " + what + " but not stored");
    }
  }
  static std::string key(const broker::StoredProducerKey& k) {
    return k.user_id + std::string(k.endpoint.begin(), k.endpoint.end());
  }

  std::set<std::string> groups_;
  std::map<Item, std::size_t> items_;  // payload sizes
  std::map<std::string, std::size_t> last_values_;
  std::set<std::string> producers_;
};

}  // namespace zrelay::testing
