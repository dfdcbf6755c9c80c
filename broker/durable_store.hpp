#pragma once
// The store of durable groups: an LMDB environment in the data directory, written one
// transaction per loop turn (StoreBatch) and synced before that turn's replies leave.
//
// Records (one LMDB database, keys ordered bytewise):
//   'g' len group                 -> the group's settings
//   'i' len group id(u64 BE)      -> a queued or unacknowledged item: object id, attempts, payload
//   'a' len group id(u64 BE)      -> its attempts since it was stored (a delivery rewrites this
//                                    small record, not the item)
//   'l' len group                 -> the last value: object id, payload
//   'p' len user_id endpoint(16)  -> a producer's durable seqs (the dedupe table)
//   'm' "format"                  -> the format version
// A payload over inline_limit lives in a file of its own under objects/ (written and fsynced
// before the transaction that refers to it commits, deleted after the one that drops it): LMDB
// would hold a whole second copy of it in memory until the commit.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "broker/store_batch.hpp"

namespace zrelay::broker {

class DurableStore {
 public:
  // Payloads larger than this are stored as files beside the database.
  static constexpr std::uint64_t inline_limit = 1 << 20;
  static constexpr std::uint32_t format_version = 1;

  // Opens the store in `dir` (created, mode 0700, if missing), locked against a second broker.
  // Throws zrelay::Error (io) if it cannot be opened or is not a zrelay store.
  DurableStore(std::filesystem::path dir, std::uint64_t max_store_bytes);
  ~DurableStore();
  DurableStore(DurableStore&&) noexcept;
  DurableStore& operator=(DurableStore&&) noexcept;

  // Everything stored; throws zrelay::Error (io) naming the record if one is corrupt.
  [[nodiscard]] StoredState load();
  // Writes `batch` in one transaction and syncs it; throws zrelay::Error (io) if that fails
  // (then nothing of it is stored).
  void commit(StoreBatch&& batch);
  // Bytes the store can still grow by: the free space of its file system, and the pages of the
  // database file that hold nothing (free pages LMDB reuses, and the file's tail).
  [[nodiscard]] std::uint64_t room() const;

  [[nodiscard]] const std::filesystem::path& dir() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zrelay::broker
