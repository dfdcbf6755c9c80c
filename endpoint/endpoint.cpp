#include <zrelay/endpoint.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "endpoint/ack_queue.hpp"

#include "endpoint/broker_link.hpp"
#include "endpoint/inbox.hpp"
#include "endpoint/submit_queue.hpp"
#include "endpoint/wait.hpp"
#include "protocol/codec.hpp"
#include "protocol/limits.hpp"

namespace zrelay {
namespace {

using endpoint::SessionState;

// 16 random bytes: another Endpoint, in this process or any other, never has the same.
EndpointId random_endpoint_id() {
  std::random_device random;
  EndpointId id{};
  for (std::size_t i = 0; i < id.size(); i += 4) {
    const auto bits = random();
    for (std::size_t j = 0; j < 4; ++j) id[i + j] = static_cast<std::uint8_t>(bits >> (8 * j));
  }
  return id;
}

zmq::message_t message_of(std::vector<char>&& bytes) {
  if (bytes.empty()) return zmq::message_t();
  auto* owned = new std::vector<char>(std::move(bytes));
  // zero-copy: libzmq frees the vector once the last copy of the message is sent
  return zmq::message_t(owned->data(), owned->size(),
                        [](void*, void* hint) { delete static_cast<std::vector<char>*>(hint); }, owned);
}

zmq::message_t message_of(std::span<const std::byte> bytes) { return zmq::message_t(bytes.data(), bytes.size()); }

std::span<const std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

void resolve_keys(EndpointOptions& options) {
  if (!options.certificate_file.empty()) options.certificate = Certificate::load(options.certificate_file);
  if (!options.certificate.has_secret()) {
    throw Error(ErrorCode::certificate, "the endpoint needs its own key pair with the secret key "
                                        "(EndpointOptions::certificate or certificate_file)");
  }
  if (!options.broker_certificate.empty()) {
    options.broker_public_key = Certificate::load_public(options.broker_certificate).public_key();
  }
  if (options.broker_public_key.empty()) {
    throw Error(ErrorCode::configuration, "the broker's public key is needed (broker_public_key or broker_certificate)");
  }
  (void)Certificate::from_keys(options.broker_public_key);  // validates the Z85 text
}

void check_group(std::string_view group) {
  if (!protocol::valid_group(group)) {
    throw Error(ErrorCode::invalid_argument,
                "invalid group name '" + std::string(group) + "' (1..255 bytes, no control characters)");
  }
}

}  // namespace

class Endpoint::Impl {
 public:
  explicit Impl(EndpointOptions options) : options_(std::move(options)), inbox_(options_.max_received_broadcasts, options_.max_received_broadcast_bytes) {
    resolve_keys(options_);
    for (const std::string& group : options_.groups) check_group(group);
    link_ = std::make_unique<endpoint::BrokerLink>(context_, options_, id_);  // throws on a bad address
    const std::string address = "inproc://zrelay-endpoint-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    control_.bind(address + "-control");
    zmq::socket_t control(context_, zmq::socket_type::pair);
    control.connect(address + "-control");
    thread_ = std::thread([this, control = std::move(control)]() mutable { run(control); });
    wait_until_open();
  }

  ~Impl() { (void)stop(); }

  // Throws what sending `size` bytes to `group` with `count` would refuse.
  void check_destination(std::string_view group, int count, std::size_t size) {
    check_group(group);
    if (size > max_message_size()) {
      throw Error(ErrorCode::too_large, "object of " + std::to_string(size) + " bytes is over the broker's limit of " +
                                            std::to_string(max_message_size()));
    }
    if (count == 0) {
      throw Error(ErrorCode::invalid_argument, "a destination count must not be 0 (< 0 broadcasts, > 0 produces copies)");
    }
    if (count > static_cast<int>(protocol::max_copies)) {
      throw Error(ErrorCode::invalid_argument, "at most 65535 copies of one object");
    }
  }

  std::uint64_t send(std::string_view group, int count, zmq::message_t&& payload) {
    check_destination(group, count, payload.size());
    const std::uint64_t seq = ++seq_;
    if (count < 0) {
      submit(protocol::Broadcast{seq, std::string(group), std::move(payload)}, options_.send_timeout);
    } else {
      submit(protocol::Produce{seq, std::string(group), static_cast<std::uint32_t>(count), std::move(payload)},
             options_.send_timeout);
    }
    return seq;
  }

  void notify(std::string_view group, int credits) {
    if (credits == 0) throw Error(ErrorCode::invalid_argument, "notify needs credits > 0, or < 0 for every queued item");
    check_group(group);
    submit(protocol::Ready{std::string(group), credits}, options_.send_timeout);
  }

  void sync(Timeout timeout) {
    const auto deadline = deadline_after(timeout);
    const std::uint64_t token = ++ping_token_;
    submit(protocol::Ping{token}, timeout);
    const auto lock = await(deadline, [&] { return confirmed_sync_ >= token; },
                            "the broker did not answer a sync within " + std::to_string(timeout.count()) + " ms");
    if (confirmed_sync_ < token) {
      if (failure_) throw *failure_;
      throw Error(ErrorCode::closed, "the endpoint stopped during sync");
    }
  }

  std::string broker_statistics(Timeout timeout) {
    const auto deadline = deadline_after(timeout);
    const std::uint64_t seq = ++seq_;
    submit(protocol::Stats{seq}, timeout);
    const auto lock = await(deadline, [&] { return stats_answers_.count(seq) != 0; },
                            "the broker did not send statistics within " + std::to_string(timeout.count()) + " ms");
    const auto answer = stats_answers_.find(seq);
    if (answer == stats_answers_.end()) {
      if (failure_) throw *failure_;
      throw Error(ErrorCode::closed, "the endpoint stopped while waiting for statistics");
    }
    endpoint::StatsAnswer found = std::move(answer->second);
    stats_answers_.erase(answer);
    if (found.refused) throw *found.refused;
    return std::move(found.json);
  }

  // True unless this stop gave up waiting for the broker's confirmation.
  bool stop() {
    std::lock_guard lock(stop_mutex_);
    if (!thread_.joinable()) return true;
    const bool failed_before = failed();
    stopping_.store(true);  // before the request: see submit()
    wake('s');
    thread_.join();
    {
      std::lock_guard control_lock(control_mutex_);
      control_.close();
      control_closed_ = true;
    }
    // The broker gives these out again once it has forgotten this session: not ours to take now.
    (void)inbox_.discard_produced();
    return failed_before || !failed();
  }

  // Hands taken messages to the application; in AckMode::on_take their produced items are acknowledged.
  std::vector<Message> taken(std::vector<Message>&& messages) {
    if (options_.ack_mode == AckMode::on_take) acknowledge(messages);
    return std::move(messages);
  }

  void acknowledge(std::span<const Message> messages) {
    std::vector<std::uint64_t> ids;
    for (const Message& m : messages) {
      if (m.kind() == Kind::produced) ids.push_back(m.delivery_id());
    }
    if (ids.empty()) return;
    acks_sent_ += ids.size();
    if (acks_.add(ids)) wake('a');
  }

  endpoint::Inbox& inbox() noexcept { return inbox_; }
  [[nodiscard]] EndpointId id() const noexcept { return id_; }
  [[nodiscard]] AckMode ack_mode() const noexcept { return options_.ack_mode; }

  std::vector<Refusal> take_refusals() {
    std::lock_guard lock(state_mutex_);
    return std::exchange(refusals_, {});
  }

  std::vector<ConnectionEvent> take_events() {
    std::lock_guard lock(state_mutex_);
    return std::exchange(events_, {});
  }

  ConnectionState connection_state() {
    std::lock_guard lock(state_mutex_);
    return connection_state_;
  }

  bool wait_for_state(ConnectionState wanted, Timeout timeout) {
    std::unique_lock lock(state_mutex_);
    return endpoint::wait_for(state_changed_, lock, timeout, [&] { return connection_state_ == wanted; });
  }

  EndpointStatistics statistics() {
    std::lock_guard lock(state_mutex_);
    EndpointStatistics stats = stats_;
    stats.acks_sent = acks_sent_.load();
    stats.dropped_broadcasts = inbox_.dropped_broadcasts();
    return stats;
  }

  std::uint64_t max_message_size() {
    std::lock_guard lock(state_mutex_);
    return max_message_size_;
  }

 private:
  using Clock = std::chrono::steady_clock;

  static bool done(SessionState state) { return state == SessionState::closed || state == SessionState::failed; }

  static std::optional<Clock::time_point> deadline_after(Timeout timeout) {
    if (timeout >= std::chrono::hours(24 * 365)) return std::nullopt;
    return Clock::now() + timeout;
  }

  static Timeout remaining(const std::optional<Clock::time_point>& deadline) {
    if (!deadline) return forever;
    return std::max(Timeout::zero(), std::chrono::duration_cast<Timeout>(*deadline - Clock::now()));
  }

  // Waits under state_mutex_ until `answered` or the endpoint has ended; throws Error(timeout)
  // with `late` past the deadline. Returns the lock, for the caller to read the answer.
  template <class Answered>
  std::unique_lock<std::mutex> await(const std::optional<Clock::time_point>& deadline, Answered answered,
                                     const std::string& late) {
    std::unique_lock lock(state_mutex_);
    const auto settled = [&] { return answered() || done(state_); };
    const Timeout window = deadline ? Timeout(std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now())) : Timeout{};
    std::optional<Clock::time_point> until = deadline;
    for (;;) {
      const TransferProgress before = stats_.transfers;
      if (endpoint::wait_for(state_changed_, lock, remaining(until), settled)) return lock;
      // A timeout is for a broker that does nothing: while the broker confirms more of a large
      // object this endpoint sends, the wait goes on, one more timeout at a time.
      const TransferProgress& now = stats_.transfers;
      if (now.sending_total == 0 || (now.sending_done == before.sending_done && now.sending_total == before.sending_total)) {
        throw Error(ErrorCode::timeout, late);
      }
      until = Clock::now() + window;
    }
  }

  void wait_until_open() {
    std::unique_lock lock(state_mutex_);
    const bool settled = endpoint::wait_for(state_changed_, lock, options_.connect_timeout,
                                            [this] { return state_ != SessionState::connecting; });
    if (settled && state_ == SessionState::active) return;
    std::optional<Error> failure = failure_;
    lock.unlock();
    (void)stop();
    if (failure) throw *failure;
    throw Error(ErrorCode::timeout,
                "no session with the broker at " + options_.broker + " within " +
                    std::to_string(options_.connect_timeout.count()) +
                    " ms: is it running there, and is broker_public_key its key?" + handshake_hint());
  }

  std::string handshake_hint() {
    std::lock_guard lock(state_mutex_);
    return last_problem_.empty() ? std::string() : " (last handshake problem: " + last_problem_ + ")";
  }

  bool failed() {
    std::lock_guard lock(state_mutex_);
    return state_ == SessionState::failed;
  }

  // Sending is allowed while a session is open or being opened again (objects wait, back-pressure).
  void check_usable() {
    if (stopping_.load()) throw Error(ErrorCode::closed, "the endpoint is stopped");
    std::lock_guard lock(state_mutex_);
    if (!done(state_) && state_ != SessionState::closing) return;
    if (failure_) throw *failure_;
    throw Error(ErrorCode::closed, "the endpoint is stopped");
  }

  // Hands a message to the I/O thread, waiting at most `timeout` for room.
  void submit(protocol::ClientMessage&& message, Timeout timeout) {
    const auto deadline = deadline_after(timeout);
    // Announced before stopping_ is read: stop() sets stopping_ before it asks the I/O thread to
    // finish, and the I/O thread sends BYE only once no submit is under way, so nothing sent
    // here can land behind BYE.
    const SubmitGuard guard(submitting_);
    check_usable();
    switch (submitted_.push(std::move(message), deadline)) {
      case endpoint::SubmitQueue::Pushed::first:
        wake('d');
        return;
      case endpoint::SubmitQueue::Pushed::queued:
        return;
      case endpoint::SubmitQueue::Pushed::timed_out:
        throw Error(ErrorCode::timeout, "the endpoint could not take more within " + std::to_string(timeout.count()) +
                                            " ms (broker slow or unreachable); this object was not sent");
      case endpoint::SubmitQueue::Pushed::closed:
        check_usable();
        throw Error(ErrorCode::closed, "the endpoint is stopped");
    }
  }

  struct SubmitGuard {
    explicit SubmitGuard(std::atomic<int>& count) : count_(count) { count_.fetch_add(1); }
    ~SubmitGuard() { count_.fetch_sub(1); }
    SubmitGuard(const SubmitGuard&) = delete;
    SubmitGuard& operator=(const SubmitGuard&) = delete;
    std::atomic<int>& count_;
  };

  // Tells the I/O thread something is waiting: 's' stop, 'a' acknowledgements, 'd' submitted messages.
  void wake(char what) {
    std::lock_guard lock(control_mutex_);
    if (control_closed_) return;
    try {
      (void)control_.send(zmq::buffer(&what, 1), zmq::send_flags::dontwait);  // fails only if the thread ended
    } catch (const zmq::error_t&) {
    }
  }

  void run(zmq::socket_t& control) {
    endpoint::LinkHooks hooks;
    hooks.publish = [this](endpoint::Session& session, const std::string& problem, const TransferProgress& progress) {
      publish(session, problem, progress);
    };
    hooks.acks = &acks_;
    hooks.submitted = &submitted_;
    hooks.submitting = [this] { return submitting_.load() > 0; };
    try {
      link_->run(control, hooks);
    } catch (const std::exception& e) {  // nothing may escape a thread; the application sees it instead
      std::lock_guard lock(state_mutex_);
      state_ = SessionState::failed;
      connection_state_ = ConnectionState::failed;
      failure_ = Error(ErrorCode::connection_failed, std::string("the endpoint's I/O thread failed: ") + e.what());
    }
    link_.reset();  // its sockets close on the thread that used them
    io_done_.store(true);
    submitted_.close();
    {
      std::lock_guard lock(state_mutex_);
      inbox_.close(failure_ ? *failure_ : Error(ErrorCode::closed, "the endpoint is stopped"));
    }
    state_changed_.notify_all();
  }

  // Called by the I/O thread after each event: copies the session's news where the application sees it.
  void publish(endpoint::Session& session, const std::string& problem, const TransferProgress& progress) {
    std::vector<Message> deliveries = session.take_deliveries();
    std::uint64_t redelivered = 0;
    for (const Message& m : deliveries) redelivered += m.attempt() > 1 ? 1 : 0;
    {
      std::lock_guard lock(state_mutex_);  // before the objects are in the inbox: none is "on its way" there
      stats_.transfers = progress;
    }
    submitted_.set_unconfirmed_bytes(session.unconfirmed_bytes());
    inbox_.push(std::move(deliveries));
    {
      std::lock_guard lock(state_mutex_);
      for (ConnectionEvent& event : session.take_events()) record(std::move(event), session);
      state_ = session.state();
      failure_ = session.failure();
      max_message_size_ = session.max_message_size();
      confirmed_sync_ = session.confirmed_sync();
      stats_.redelivered += redelivered;
      for (Refusal& refusal : session.take_refusals()) {
        if (refusals_.size() < max_refusals) {
          refusals_.push_back(std::move(refusal));
        } else {
          ++stats_.dropped_refusals;
        }
      }
      for (endpoint::StatsAnswer& answer : session.take_stats_answers()) {
        // Answers nobody waits for any more (a request that timed out) are not kept forever.
        if (stats_answers_.size() >= max_stats_answers) stats_answers_.erase(stats_answers_.begin());
        stats_answers_.insert_or_assign(answer.seq, std::move(answer));
      }
      if (!problem.empty()) last_problem_ = problem;
    }
    state_changed_.notify_all();
  }

  // Under state_mutex_.
  void record(ConnectionEvent&& event, endpoint::Session& session) {
    if (event.state == ConnectionState::reconnecting) {
      // Taken from the inbox after the deliveries of the lost session were pushed: the broker
      // gives these items out again, so the application must not take them from here too. Their
      // credits were not used by the application: the next session asks for them again.
      event.returned_items = session.return_untaken(inbox_.discard_produced());
      stats_.returned_items += event.returned_items;
    }
    if (event.state == ConnectionState::connected) {
      ++stats_.sessions;
      stats_.resent += event.resent;
    }
    connection_state_ = event.state;
    if (events_.size() < max_events) {
      events_.push_back(std::move(event));
    } else {
      ++stats_.dropped_events;
    }
  }

  static constexpr std::size_t max_events = 1000;  // unread events beyond this are not kept
  // Unread refusals kept: one per object refused, so this many objects refused in a row before
  // the application looked (about 100 bytes each).
  static constexpr std::size_t max_refusals = 65536;
  static constexpr std::size_t max_stats_answers = 16;

  EndpointOptions options_;
  const EndpointId id_ = random_endpoint_id();
  zmq::context_t context_{1};
  std::unique_ptr<endpoint::BrokerLink> link_;
  // Objects, credits and syncs, in order. Up to a batch of commands waits; the bytes it holds
  // count with what the session keeps unconfirmed.
  endpoint::SubmitQueue submitted_{protocol::max_batch_commands, options_.max_unconfirmed_bytes};
  zmq::socket_t control_{context_, zmq::socket_type::pair};  // stop and wake-ups
  std::mutex control_mutex_;
  bool control_closed_ = false;
  std::mutex stop_mutex_;
  endpoint::Inbox inbox_;
  endpoint::AckQueue acks_;
  std::mutex state_mutex_;
  std::condition_variable state_changed_;
  SessionState state_ = SessionState::connecting;
  ConnectionState connection_state_ = ConnectionState::connecting;
  std::optional<Error> failure_;
  std::vector<Refusal> refusals_;
  std::vector<ConnectionEvent> events_;
  std::map<std::uint64_t, endpoint::StatsAnswer> stats_answers_;  // by request seq
  EndpointStatistics stats_;
  std::string last_problem_;
  std::uint64_t max_message_size_ = 0;
  std::uint64_t confirmed_sync_ = 0;
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> ping_token_{0};
  std::atomic<std::uint64_t> acks_sent_{0};
  std::atomic<int> submitting_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> io_done_{false};
  std::thread thread_;
};

Endpoint::Endpoint(EndpointOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Endpoint::~Endpoint() = default;
Endpoint::Endpoint(Endpoint&&) noexcept = default;
Endpoint& Endpoint::operator=(Endpoint&&) noexcept = default;

std::uint64_t Endpoint::send_payload(std::vector<char>&& payload, std::string_view group, int count) {
  return impl_->send(group, count, message_of(std::move(payload)));
}

std::vector<std::uint64_t> Endpoint::send_payload_to(std::vector<char>&& payload, const Destinations& destinations) {
  if (destinations.empty()) throw Error(ErrorCode::invalid_argument, "send_object needs at least one destination");
  for (const auto& [group, count] : destinations) impl_->check_destination(group, count, payload.size());
  zmq::message_t shared = message_of(std::move(payload));
  std::vector<std::uint64_t> seqs;
  for (const auto& [group, count] : destinations) {
    zmq::message_t copy;
    copy.copy(shared);  // the buffer is shared, not copied
    seqs.push_back(impl_->send(group, count, std::move(copy)));
  }
  return seqs;
}

std::uint64_t Endpoint::broadcast_raw(std::span<const std::byte> bytes, std::string_view group) {
  return impl_->send(group, -1, message_of(bytes));
}
std::uint64_t Endpoint::broadcast_raw(std::string_view bytes, std::string_view group) {
  return broadcast_raw(bytes_of(bytes), group);
}
int Endpoint::copies_count(unsigned copies) {
  if (copies == 0 || copies > protocol::max_copies) {
    throw Error(ErrorCode::invalid_argument, "copies must be 1..65535, got " + std::to_string(copies));
  }
  return static_cast<int>(copies);
}

std::uint64_t Endpoint::produce_raw(std::span<const std::byte> bytes, std::string_view group, unsigned copies) {
  return impl_->send(group, copies_count(copies), message_of(bytes));
}
std::uint64_t Endpoint::produce_raw(std::string_view bytes, std::string_view group, unsigned copies) {
  return produce_raw(bytes_of(bytes), group, copies);
}

void Endpoint::notify(std::string_view group, int credits) { impl_->notify(group, credits); }

namespace {
void check_max_items(std::size_t max_items) {
  if (max_items == 0) throw Error(ErrorCode::invalid_argument, "max_items must be at least 1");
}
}  // namespace

std::vector<Message> Endpoint::pop(std::size_t max_items, Timeout timeout) {
  check_max_items(max_items);
  return impl_->taken(impl_->inbox().pop(max_items, timeout));
}
std::vector<Message> Endpoint::get_last(std::size_t max_items, Timeout timeout) {
  check_max_items(max_items);
  std::vector<Message> discarded;
  // In AckMode::manual the application acknowledges what it received: older produced items are
  // not skipped for it (nobody could acknowledge them), they stay for pop().
  const bool keep_produced = impl_->ack_mode() == AckMode::manual;
  auto newest = impl_->inbox().get_last(max_items, timeout, &discarded, keep_produced);
  (void)impl_->taken(std::move(discarded));  // the application chose to skip these: they count as taken
  return impl_->taken(std::move(newest));
}
std::vector<Message> Endpoint::receive_all(Timeout timeout) { return impl_->taken(impl_->inbox().receive_all(timeout)); }

void Endpoint::ack(const Message& message) { impl_->acknowledge(std::span<const Message>(&message, 1)); }
void Endpoint::ack(std::span<const Message> messages) { impl_->acknowledge(messages); }
ConnectionState Endpoint::connection_state() const { return impl_->connection_state(); }
bool Endpoint::wait_for_connection_state(ConnectionState state, Timeout timeout) const {
  return impl_->wait_for_state(state, timeout);
}
std::vector<ConnectionEvent> Endpoint::take_connection_events() { return impl_->take_events(); }
EndpointStatistics Endpoint::statistics() const { return impl_->statistics(); }
void Endpoint::sync(Timeout timeout) { impl_->sync(timeout); }
std::string Endpoint::broker_statistics(Timeout timeout) { return impl_->broker_statistics(timeout); }
std::vector<Refusal> Endpoint::take_refusals() { return impl_->take_refusals(); }

void Endpoint::stop() {
  if (impl_ && !impl_->stop()) {
    throw Error(ErrorCode::timeout,
                "stopped without the broker's confirmation: objects sent just before may not have reached it");
  }
}

std::uint64_t Endpoint::max_message_size() const { return impl_->max_message_size(); }
EndpointId Endpoint::id() const { return impl_->id(); }

}  // namespace zrelay
