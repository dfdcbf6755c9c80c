#include "broker/durable_store.hpp"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <zrelay/error.hpp>

namespace zrelay::broker {
namespace fs = std::filesystem;
namespace {

enum class Tag : char { group = 'g', item = 'i', attempts = 'a', last_value = 'l', producer = 'p', meta = 'm' };
enum class Place : std::uint8_t { inline_bytes = 0, file = 1 };

[[noreturn]] void fail(const std::string& what, int rc) {
  throw Error(ErrorCode::io, what + ": " + (rc > 0 ? std::strerror(rc) : mdb_strerror(rc)));
}
void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) fail(std::string("store: ") + what, rc);
}

// Big-endian fields appended to a record or key.
class RecordWriter {
 public:
  RecordWriter& tag(Tag t) { return byte(static_cast<std::uint8_t>(t)); }
  RecordWriter& byte(std::uint8_t v) { return put(v); }
  RecordWriter& u32(std::uint32_t v) { return put(v); }
  RecordWriter& u64(std::uint64_t v) { return put(v); }
  RecordWriter& name(std::string_view s) {  // a group or user id: at most 255 bytes
    byte(static_cast<std::uint8_t>(s.size()));
    return bytes(s.data(), s.size());
  }
  RecordWriter& bytes(const void* data, std::size_t size) {
    out_.append(static_cast<const char*>(data), size);
    return *this;
  }
  RecordWriter& object(const ObjectId& id) { return bytes(id.producer.data(), id.producer.size()).u64(id.seq).u32(id.copy); }
  RecordWriter& window(const SeqWindow& w) {  // the highest seq, then the bitmap, bit i of byte i / 8
    std::string bits(SeqWindow::size / 8, '\0');
    for (std::size_t i = 0; i < SeqWindow::size; ++i) {
      if (w.applied.test(i)) bits[i / 8] = static_cast<char>(bits[i / 8] | (1 << (i % 8)));
    }
    return u64(w.highest).bytes(bits.data(), bits.size());
  }
  [[nodiscard]] const std::string& text() const noexcept { return out_; }

 private:
  template <class Int>
  RecordWriter& put(Int v) {
    for (std::size_t i = sizeof(Int); i-- > 0;) out_ += static_cast<char>(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::string out_;
};

// Reads what RecordWriter wrote; a record too short for its fields is corrupt.
class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  std::uint8_t byte() { return get<std::uint8_t>(); }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  std::string name() { return std::string(take(byte())); }
  std::string_view take(std::size_t n) {
    if (n > in_.size()) throw Error(ErrorCode::io, "a record ends before its fields");
    const std::string_view part = in_.substr(0, n);
    in_.remove_prefix(n);
    return part;
  }
  ObjectId object() {
    ObjectId id;
    std::memcpy(id.producer.data(), take(id.producer.size()).data(), id.producer.size());
    id.seq = u64();
    id.copy = u32();
    return id;
  }
  SeqWindow window() {
    SeqWindow w;
    w.highest = u64();
    const std::string_view bits = take(SeqWindow::size / 8);
    for (std::size_t i = 0; i < SeqWindow::size; ++i) {
      if ((static_cast<std::uint8_t>(bits[i / 8]) >> (i % 8)) & 1U) w.applied.set(i);
    }
    return w;
  }
  [[nodiscard]] std::string_view rest() const noexcept { return in_; }
  void end() const {
    if (!in_.empty()) throw Error(ErrorCode::io, "a record has bytes after its fields");
  }

 private:
  template <class Int>
  Int get() {
    std::uint64_t v = 0;
    for (const char c : take(sizeof(Int))) v = (v << 8) | static_cast<std::uint8_t>(c);
    return static_cast<Int>(v);
  }
  std::string_view in_;
};

std::string group_key(Tag tag, const std::string& group) { return RecordWriter().tag(tag).name(group).text(); }
std::string item_key(Tag tag, const std::string& group, std::uint64_t id) {
  return RecordWriter().tag(tag).name(group).u64(id).text();
}

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

void write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("store: cannot write " + path.string(), errno);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void sync_fd(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) fail("store: cannot sync " + path.string(), errno);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace

class DurableStore::Impl {
 public:
  Impl(fs::path dir, std::uint64_t max_store_bytes) : dir_(std::move(dir)), objects_(dir_ / "objects") {
    try {
      open_env(max_store_bytes);
    } catch (...) {
      close_env();  // the destructor of an object not constructed does not run
      throw;
    }
  }

  ~Impl() { close_env(); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void open_env(std::uint64_t max_store_bytes) {
    make_dir(dir_);
    make_dir(objects_);
    lock();
    check(mdb_env_create(&env_), "mdb_env_create");
    // Room for the records, the pages copied on write and the free pages LMDB keeps: it grows
    // on MDB_MAP_FULL (commit), so this is only the first size.
    map_size_ = std::max<std::uint64_t>(2 * max_store_bytes, 64ull << 20);
    check(mdb_env_set_mapsize(env_, map_size_), "mdb_env_set_mapsize");
    // Default flags: every commit syncs the data and then the meta page (durable at commit).
    if (const int rc = mdb_env_open(env_, dir_.c_str(), MDB_NOTLS, 0600); rc != MDB_SUCCESS) {
      fail("cannot open the store in " + dir_.string() + " (not an LMDB store, or corrupt)", rc);
    }
    check_format();
  }

  void close_env() noexcept {
    if (env_ != nullptr) mdb_env_close(env_);  // also after a failed mdb_env_open, as LMDB asks
    env_ = nullptr;
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
  }

  StoredState load() {
    StoredState state;
    std::map<std::string, StoredGroup> groups;
    std::map<std::string, std::map<std::uint64_t, std::uint32_t>> attempts;
    std::set<std::string> referenced;
    read([&](std::string_view key, std::string_view value) {
      try {
        load_record(key, value, groups, attempts, referenced, state);
      } catch (const Error& e) {
        throw Error(ErrorCode::io, "the store in " + dir_.string() + " is corrupt: " + e.what());
      }
    });
    for (auto& [name, group] : groups) {
      group.options.name = name;
      group.options.durable = true;
      for (StoredItem& item : group.items) {
        if (const auto a = attempts[name].find(item.id); a != attempts[name].end()) item.attempts = a->second;
      }
      state.groups.push_back(std::move(group));
    }
    remove_orphans(referenced);
    return state;
  }

  void commit(StoreBatch&& batch) {
    if (batch.empty()) return;
    std::vector<fs::path> written;  // files of this batch: gone again if it fails before its commit
    std::vector<fs::path> dropped;  // files of records it replaced or erased: gone once it commits
    try {
      for (int tries = 0;; ++tries) {
        const int rc = write(batch, written, dropped);
        if (rc == MDB_SUCCESS) break;
        if (rc == commit_failed) {
          // The meta page may have reached the disk anyway: its records may name the files
          // written. They stay; if nothing names them, the next load removes them.
          written.clear();
          fail("store: cannot commit in " + dir_.string(), errno_of_commit_);
        }
        if (rc != MDB_MAP_FULL || tries == 4) fail("store: cannot commit in " + dir_.string(), rc);
        grow();
        for (const fs::path& path : written) ::unlink(path.c_str());  // written again by the next try
        written.clear();
        dropped.clear();
      }
    } catch (...) {
      for (const fs::path& path : written) ::unlink(path.c_str());
      throw;
    }
    for (const fs::path& path : dropped) ::unlink(path.c_str());  // a crash before this leaves an orphan, removed at load
  }

  std::uint64_t room() const {
    struct statvfs fs_stat {};
    if (::statvfs(dir_.c_str(), &fs_stat) != 0) return 0;
    return static_cast<std::uint64_t>(fs_stat.f_bavail) * fs_stat.f_frsize + unused_in_file();
  }

  const fs::path& dir() const noexcept { return dir_; }

 private:
  // Bytes of the database file that hold no page in use: its free pages (LMDB reuses them) and
  // what lies past its last page. Pages in use: the records' tree, the free list's own, two meta.
  std::uint64_t unused_in_file() const {
    struct stat file {};
    MDB_txn* txn = nullptr;
    if (::stat((dir_ / "data.mdb").c_str(), &file) != 0 || mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != MDB_SUCCESS) {
      return 0;
    }
    MDB_stat records{};
    MDB_stat free_list{};
    const bool known = mdb_stat(txn, dbi_, &records) == MDB_SUCCESS && mdb_stat(txn, 0, &free_list) == MDB_SUCCESS;
    mdb_txn_abort(txn);
    if (!known) return 0;
    const auto pages = [](const MDB_stat& s) { return s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages; };
    const std::uint64_t used = (pages(records) + pages(free_list) + 2) * records.ms_psize;
    const auto size = static_cast<std::uint64_t>(file.st_size);
    return size > used ? size - used : 0;
  }

  static void make_dir(const fs::path& dir) {
    std::error_code ec;
    if (fs::create_directories(dir, ec)) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) throw Error(ErrorCode::io, "cannot create " + dir.string() + ": " + ec.message());
  }

  void lock() {
    const fs::path path = dir_ / "broker.lock";
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) fail("cannot open " + path.string(), errno);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      throw Error(ErrorCode::io, "the store in " + dir_.string() + " is in use by another broker");
    }
  }

  // A new store gets the format record; an existing one must carry this format.
  void check_format() {
    const std::string key = RecordWriter().tag(Tag::meta).bytes("format", 6).text();
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    MDB_dbi dbi = 0;
    MDB_val k = val(key);
    MDB_val v{};
    int rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
    if (rc == MDB_SUCCESS) rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
      MDB_cursor* cursor = nullptr;
      MDB_val any{};
      if (const int opened = mdb_cursor_open(txn, dbi, &cursor); opened != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        fail("store: mdb_cursor_open", opened);
      }
      const bool empty = mdb_cursor_get(cursor, &any, &v, MDB_FIRST) == MDB_NOTFOUND;
      mdb_cursor_close(cursor);
      if (!empty) {
        mdb_txn_abort(txn);
        throw Error(ErrorCode::io, "the store in " + dir_.string() + " has records but no format record: not a zrelay store");
      }
      const std::string format = RecordWriter().u32(format_version).text();
      MDB_val f = val(format);
      rc = mdb_put(txn, dbi, &k, &f, 0);
      if (rc == MDB_SUCCESS) rc = mdb_txn_commit(txn);
      else mdb_txn_abort(txn);
      check(rc, "writing the format record");
    } else if (rc == MDB_SUCCESS) {
      RecordReader in(view(v));
      const std::uint32_t format = view(v).size() == 4 ? in.u32() : 0;
      mdb_txn_abort(txn);
      if (format != format_version) {
        throw Error(ErrorCode::io, "the store in " + dir_.string() + " has format " + std::to_string(format) +
                                       ", this broker reads format " + std::to_string(format_version));
      }
    } else {
      mdb_txn_abort(txn);
      fail("cannot read the store in " + dir_.string(), rc);
    }
    dbi_ = dbi;
  }

  template <class Visit>
  void read(Visit&& visit) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin");
    MDB_cursor* cursor = nullptr;
    if (const int rc = mdb_cursor_open(txn, dbi_, &cursor); rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      fail("store: mdb_cursor_open", rc);
    }
    MDB_val k{};
    MDB_val v{};
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    try {
      for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) visit(view(k), view(v));
    } catch (...) {
      mdb_cursor_close(cursor);
      mdb_txn_abort(txn);
      throw;
    }
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND) fail("the store in " + dir_.string() + " cannot be read (corrupt)", rc);
  }

  void load_record(std::string_view key, std::string_view value, std::map<std::string, StoredGroup>& groups,
                   std::map<std::string, std::map<std::uint64_t, std::uint32_t>>& attempts,
                   std::set<std::string>& referenced, StoredState& state) {
    RecordReader k(key);
    RecordReader v(value);
    const auto tag = static_cast<Tag>(k.byte());
    switch (tag) {
      case Tag::meta: return;
      case Tag::group: {
        const std::string name = k.name();
        k.end();
        GroupOptions& options = groups[name].options;
        options.max_count = v.u64();
        options.max_consumables = v.u64();
        options.overflow = v.byte() == 0 ? Overflow::refuse : Overflow::drop_oldest;
        v.end();
        state.bytes += store_record_cost;
        return;
      }
      case Tag::item: {
        const std::string name = k.name();
        StoredItem item;
        item.id = k.u64();
        k.end();
        item.object = v.object();
        item.attempts = v.u32();
        auto& items = groups[name].items;
        // The copies of one PRODUCE share one buffer in the broker; loaded, they share it again.
        const bool copy_of_previous = !items.empty() && item.object.seq != 0 &&
                                      items.back().object.producer == item.object.producer &&
                                      items.back().object.seq == item.object.seq;
        item.payload = payload(v, referenced, copy_of_previous ? &items.back().payload : nullptr);
        state.bytes += 2 * store_record_cost + item.payload.size();  // with its attempts record
        groups[name].items.push_back(std::move(item));  // keys ascend: queue order
        return;
      }
      case Tag::attempts: {
        const std::string name = k.name();
        const std::uint64_t id = k.u64();
        k.end();
        attempts[name][id] = v.u32();
        v.end();
        return;
      }
      case Tag::last_value: {
        const std::string name = k.name();
        k.end();
        const ObjectId object = v.object();
        zmq::message_t bytes = payload(v, referenced);
        state.bytes += store_record_cost + bytes.size();
        groups[name].last_value.emplace(object, std::move(bytes));
        return;
      }
      case Tag::producer: {
        store_op::PutProducer producer;
        producer.key.user_id = k.name();
        std::memcpy(producer.key.endpoint.data(), k.take(producer.key.endpoint.size()).data(), producer.key.endpoint.size());
        k.end();
        producer.seqs = v.window();
        for (auto n = v.byte(); n > 0; --n) producer.uploading.push_back(v.u64());
        v.end();
        state.bytes += store_record_cost;
        state.producers.push_back(std::move(producer));
        return;
      }
    }
    throw Error(ErrorCode::io, "a record of unknown kind");
  }

  // A payload's bytes: in the record, or in its file (whose size must match).
  // `same`: bytes of the same object loaded already, shared if the sizes agree.
  zmq::message_t payload(RecordReader& v, std::set<std::string>& referenced, zmq::message_t* same = nullptr) {
    const auto shared = [&](std::uint64_t size) -> std::optional<zmq::message_t> {
      if (same == nullptr || same->size() != size) return std::nullopt;
      zmq::message_t copy;
      copy.copy(*same);
      return copy;
    };
    const auto place = static_cast<Place>(v.byte());
    if (place == Place::inline_bytes) {
      const std::string_view bytes = v.rest();
      if (auto copy = shared(bytes.size())) return std::move(*copy);
      return zmq::message_t(bytes.data(), bytes.size());
    }
    if (place != Place::file) throw Error(ErrorCode::io, "a payload of unknown place");
    const std::uint64_t size = v.u64();
    const std::uint64_t serial = v.u64();
    v.end();
    const std::string name = std::to_string(serial);
    referenced.insert(name);
    if (auto copy = shared(size)) return std::move(*copy);
    return read_file(objects_ / name, size);
  }

  static zmq::message_t read_file(const fs::path& path, std::uint64_t size) {
    const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat file {};
    if (fd.get() < 0 || ::fstat(fd.get(), &file) != 0) {
      throw Error(ErrorCode::io, "the payload file " + path.string() + " is missing: " + std::strerror(errno));
    }
    if (static_cast<std::uint64_t>(file.st_size) != size) {
      throw Error(ErrorCode::io, "the payload file " + path.string() + " has " + std::to_string(file.st_size) +
                                     " bytes, its record says " + std::to_string(size));
    }
    zmq::message_t bytes(size);
    auto* out = static_cast<char*>(bytes.data());
    for (std::uint64_t done = 0; done < size;) {
      const ssize_t n = ::pread(fd.get(), out + done, size - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error(ErrorCode::io, "cannot read " + path.string());
      done += static_cast<std::uint64_t>(n);
    }
    return bytes;
  }

  // Payload files no record refers to: written by a transaction that never committed, or left
  // by one that dropped them before their deletion.
  void remove_orphans(const std::set<std::string>& referenced) const {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(objects_, ec)) {
      const std::string name = entry.path().filename().string();
      if (referenced.count(name) == 0) fs::remove(entry.path(), ec);
    }
    if (!referenced.empty()) next_serial_ = std::max(next_serial_, serial_after(referenced));
  }

  static std::uint64_t serial_after(const std::set<std::string>& names) {
    std::uint64_t highest = 0;
    for (const std::string& name : names) highest = std::max<std::uint64_t>(highest, std::stoull(name));
    return highest + 1;
  }

  // One transaction for the batch; MDB_MAP_FULL is returned (to grow the map and retry).
  int write(StoreBatch& batch, std::vector<fs::path>& written, std::vector<fs::path>& dropped) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    int rc = MDB_SUCCESS;
    try {
      for (StoreOp& op : batch.ops) {
        rc = std::visit([&](auto& o) { return apply(txn, o, written, dropped); }, op);
        if (rc != MDB_SUCCESS) break;
      }
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      return rc;
    }
    try {
      if (!written.empty()) sync_dir();  // the files' names are durable before the records naming them
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    if (const int committed = mdb_txn_commit(txn); committed != MDB_SUCCESS) {  // syncs the data, then the meta page
      errno_of_commit_ = committed;
      return commit_failed;
    }
    return MDB_SUCCESS;
  }

  // write(): mdb_txn_commit failed (its error in errno_of_commit_), after the transaction was given to LMDB.
  static constexpr int commit_failed = -1;
  int errno_of_commit_ = 0;

  int put(MDB_txn* txn, const std::string& key, const std::string& value) {
    MDB_val k = val(key);
    MDB_val v = val(value);
    return mdb_put(txn, dbi_, &k, &v, 0);
  }

  // The file of the payload the record at `key` names now, if it has one.
  std::optional<fs::path> file_of(MDB_txn* txn, const std::string& key) {
    MDB_val k = val(key);
    MDB_val v{};
    if (mdb_get(txn, dbi_, &k, &v) != MDB_SUCCESS) return std::nullopt;
    RecordReader in(view(v));
    try {
      in.take(key[0] == static_cast<char>(Tag::item) ? 32 : 28);  // object id (+ attempts)
      if (static_cast<Place>(in.byte()) != Place::file) return std::nullopt;
      in.u64();
      return objects_ / std::to_string(in.u64());
    } catch (const Error&) {
      return std::nullopt;
    }
  }

  // The payload part of a record: the bytes, or the name of the file they were written to.
  void put_payload(RecordWriter& record, const zmq::message_t& payload,
                   std::vector<fs::path>& written) {
    if (payload.size() <= inline_limit) {
      record.byte(static_cast<std::uint8_t>(Place::inline_bytes)).bytes(payload.data(), payload.size());
      return;
    }
    const std::uint64_t serial = next_serial_++;
    const fs::path path = objects_ / std::to_string(serial);  // named by the serial: keys may be long
    const Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) fail("store: cannot create " + path.string(), errno);
    written.push_back(path);
    write_all(fd.get(), static_cast<const char*>(payload.data()), payload.size(), path);
    sync_fd(fd.get(), path);
    record.byte(static_cast<std::uint8_t>(Place::file)).u64(payload.size()).u64(serial);
  }

  int apply(MDB_txn* txn, store_op::PutGroup& op, std::vector<fs::path>&, std::vector<fs::path>&) {
    const GroupOptions& o = op.options;
    return put(txn, group_key(Tag::group, o.name),
               RecordWriter().u64(o.max_count).u64(o.max_consumables).byte(o.overflow == Overflow::refuse ? 0 : 1).text());
  }

  int apply(MDB_txn* txn, store_op::PutItem& op, std::vector<fs::path>& written, std::vector<fs::path>&) {
    const std::string key = item_key(Tag::item, op.group, op.id);
    RecordWriter record;
    record.object(op.object).u32(op.attempts);
    put_payload(record, op.payload, written);
    return put(txn, key, record.text());
  }

  int apply(MDB_txn* txn, store_op::PutAttempts& op, std::vector<fs::path>&, std::vector<fs::path>&) {
    return put(txn, item_key(Tag::attempts, op.group, op.id), RecordWriter().u32(op.attempts).text());
  }

  int apply(MDB_txn* txn, store_op::EraseItem& op, std::vector<fs::path>&, std::vector<fs::path>& dropped) {
    const std::string key = item_key(Tag::item, op.group, op.id);
    if (op.size > inline_limit) {
      if (auto file = file_of(txn, key)) dropped.push_back(std::move(*file));
    }
    for (const std::string& k : {key, item_key(Tag::attempts, op.group, op.id)}) {
      MDB_val kv = val(k);
      if (const int rc = mdb_del(txn, dbi_, &kv, nullptr); rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return rc;
    }
    return MDB_SUCCESS;
  }

  int apply(MDB_txn* txn, store_op::PutLastValue& op, std::vector<fs::path>& written, std::vector<fs::path>& dropped) {
    const std::string key = group_key(Tag::last_value, op.group);
    if (auto file = file_of(txn, key)) dropped.push_back(std::move(*file));
    RecordWriter record;
    record.object(op.object);
    put_payload(record, op.payload, written);
    return put(txn, key, record.text());
  }

  int apply(MDB_txn* txn, store_op::PutProducer& op, std::vector<fs::path>&, std::vector<fs::path>&) {
    RecordWriter record;
    record.window(op.seqs).byte(static_cast<std::uint8_t>(op.uploading.size()));
    for (const std::uint64_t seq : op.uploading) record.u64(seq);
    return put(txn, producer_key(op.key), record.text());
  }

  int apply(MDB_txn* txn, store_op::EraseProducer& op, std::vector<fs::path>&, std::vector<fs::path>&) {
    const std::string key = producer_key(op.key);
    MDB_val k = val(key);
    const int rc = mdb_del(txn, dbi_, &k, nullptr);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
  }

  static std::string producer_key(const StoredProducerKey& key) {
    return RecordWriter().tag(Tag::producer).name(key.user_id).bytes(key.endpoint.data(), key.endpoint.size()).text();
  }

  void sync_dir() const {
    const Fd fd(::open(objects_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) fail("store: cannot open " + objects_.string(), errno);
    sync_fd(fd.get(), objects_);
  }

  void grow() {
    map_size_ *= 2;
    check(mdb_env_set_mapsize(env_, map_size_), "mdb_env_set_mapsize");
  }

  fs::path dir_;
  fs::path objects_;
  int lock_fd_ = -1;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  std::uint64_t map_size_ = 0;
  mutable std::uint64_t next_serial_ = 1;
};

DurableStore::DurableStore(fs::path dir, std::uint64_t max_store_bytes)
    : impl_(std::make_unique<Impl>(std::move(dir), max_store_bytes)) {}
DurableStore::~DurableStore() = default;
DurableStore::DurableStore(DurableStore&&) noexcept = default;
DurableStore& DurableStore::operator=(DurableStore&&) noexcept = default;
StoredState DurableStore::load() { return impl_->load(); }
void DurableStore::commit(StoreBatch&& batch) { impl_->commit(std::move(batch)); }
std::uint64_t DurableStore::room() const { return impl_->room(); }
const fs::path& DurableStore::dir() const noexcept { return impl_->dir(); }

}  // namespace zrelay::broker
