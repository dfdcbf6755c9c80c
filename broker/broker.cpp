#include <zrelay/broker.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include <spdlog/logger.h>

#include "auth/allow_list.hpp"
#include "auth/zap_handler.hpp"
#include "broker/broker_core.hpp"
#include "broker/broker_log.hpp"
#include "broker/durable_store.hpp"
#include "broker/handshake_watch.hpp"
#include "broker/log_limiter.hpp"
#include "broker/router_link.hpp"
#include "broker/wakeup.hpp"
#include "protocol/limits.hpp"
#include "protocol/zmq_compat.hpp"

namespace zrelay {
namespace {

const char* const zap_domain = "zrelay";

// The broker socket's send high-water mark per peer; see make_router.
constexpr int router_send_hwm = 10000;

void check_options(const BrokerOptions& options) {
  if (zmq_has("curve") == 0) throw Error(ErrorCode::configuration, "this libzmq was built without CURVE support");
  if (!options.certificate.has_secret()) {
    throw Error(ErrorCode::certificate, "the broker needs its secret key (load the NAME_secret certificate file)");
  }
  if (options.io_threads < 1) throw Error(ErrorCode::configuration, "io_threads must be at least 1");
  if (options.limits.heartbeat < std::chrono::milliseconds(10) || options.limits.liveness <= options.limits.heartbeat ||
      options.limits.liveness > std::chrono::hours(24)) {
    throw Error(ErrorCode::configuration, "heartbeat must be at least 10 ms and liveness longer than heartbeat (at most 24 h)");
  }
  if (options.limits.max_message_size == 0 ||
      options.limits.max_message_size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw Error(ErrorCode::configuration, "max_message_size must be between 1 and 2^63-1");
  }
  const BrokerLimits& l = options.limits;
  if (has_durable_groups(l) && !options.data_dir) throw Error(ErrorCode::configuration, "durable groups need a data directory (data_dir)");
  if (l.max_store_bytes == 0) throw Error(ErrorCode::configuration, "max_store_bytes must be at least 1");
  if (l.max_client_unacked < 1) throw Error(ErrorCode::configuration, "max_client_unacked must be at least 1");
  if (l.max_client_pending_messages < 1 || l.max_client_pending_messages > static_cast<std::uint64_t>(router_send_hwm / 2)) {
    throw Error(ErrorCode::configuration, "max_client_pending_messages must be between 1 and " +
                                              std::to_string(router_send_hwm / 2) + " (half the socket's send high-water mark)");
  }
}

// The keys and rules of `options`, loaded and checked; throws zrelay::Error.
struct Access {
  std::shared_ptr<const auth::AllowList> keys;
  auth::AccessPolicy policy;
};

Access access_of(const BrokerOptions& options) {
  auth::AllowList list = options.authorized_keys_dir ? auth::AllowList::load_directory(*options.authorized_keys_dir)
                                                     : auth::AllowList();
  for (const Certificate& key : options.authorized_keys) list.add(key);
  return {std::make_shared<const auth::AllowList>(std::move(list)),
          auth::AccessPolicy(options.access_rules, options.access_default)};
}

zmq::socket_t make_router(zmq::context_t& context, const BrokerOptions& options) {
  zmq::socket_t router(context, zmq::socket_type::router);
  // Fail closed: without a ZAP handler answering for this domain, no connection is accepted.
  router.set(zmq::sockopt::zap_domain, zap_domain);
  int enforce = 1;
  std::size_t size = sizeof enforce;
  if (zmq_setsockopt(router.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce) != 0 ||
      zmq_getsockopt(router.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, &size) != 0 || enforce != 1) {
    throw Error(ErrorCode::configuration, "this libzmq cannot enforce ZAP (ZMQ_ZAP_ENFORCE_DOMAIN): refusing to run open");
  }
  router.set(zmq::sockopt::curve_server, 1);
  router.set(zmq::sockopt::curve_secretkey, options.certificate.secret_key());
  router.set(zmq::sockopt::router_mandatory, 1);
  // When an authenticated connection closes, the ROUTER hands over an empty message from its
  // routing id (after everything that connection sent): its session is forgotten at once and
  // its items go to other consumers, instead of after the liveness window.
  int notify = ZMQ_NOTIFY_DISCONNECT;
  if (zmq_setsockopt(router.handle(), ZMQ_ROUTER_NOTIFY, &notify, sizeof notify) != 0) {
    throw Error(ErrorCode::configuration, "this libzmq cannot report closed connections (ZMQ_ROUTER_NOTIFY)");
  }
  // The broker bounds what waits for each client itself (max_client_pending_messages, the
  // backlog); the socket's own bound only has to stay out of the way. A pipe's writer learns of
  // the reader's progress every half high-water mark, so with libzmq's 1000 a client whose 500
  // deliveries were still waiting could be refused more. Refused sends are built, tried and put
  // back: work a client that never reads could make the broker do each tick.
  router.set(zmq::sockopt::sndhwm, router_send_hwm);
  // The whole message, all frames added up (zrelay's libzmq, third_party/libzmq patch 0003): a
  // header frame with its fields and a payload of max_message_size, or a chunk of a larger one. It is also what one
  // connection can make the broker buffer before libzmq hands over a message. A payload over
  // the limit that fits this slack is refused with too_large instead of costing the sender its
  // connection.
  router.set(zmq::sockopt::maxmsgsize,
             static_cast<std::int64_t>(std::min<std::uint64_t>(options.limits.max_message_size, protocol::chunk_size) +
                                       protocol::max_fields_bytes));
  router.set(zmq::sockopt::handshake_ivl, static_cast<int>(options.handshake_timeout.count()));
  router.set(zmq::sockopt::linger, static_cast<int>(options.linger.count()));
  // ZMTP heartbeats close connections that went silent; the next send to such a peer fails and
  // the broker forgets it.
  router.set(zmq::sockopt::heartbeat_ivl, 1000);
  router.set(zmq::sockopt::heartbeat_timeout, 5000);
  // Self-check: what we set is what the socket uses.
  if (router.get(zmq::sockopt::mechanism) != ZMQ_CURVE || router.get(zmq::sockopt::curve_server) != 1) {
    throw Error(ErrorCode::configuration, "CURVE server mode could not be enabled on the broker socket");
  }
  return router;
}

// Log lines per second at most, for the broker loop and for the ZAP handler each.
constexpr std::size_t log_burst = 100;

void report_suppressed(spdlog::logger& log, broker::LogLimiter& limiter, const char* what) {
  if (const auto count = limiter.take_suppressed(broker::LogLimiter::Clock::now())) {
    log.warn("{} more {} log lines suppressed (over {} per second)", count, what, log_burst);
  }
}

// Called on the ZAP handler's thread only: the limiter needs no lock.
auth::ZapHandler::Observer handshake_logger(std::shared_ptr<spdlog::logger> log) {
  auto limiter = std::make_shared<broker::LogLimiter>(log_burst, std::chrono::seconds(1));
  return [limiter, log](const std::string& key_z85, const std::string& name, bool allowed, const std::string& reason) {
    report_suppressed(*log, *limiter, "handshake");
    if (!limiter->admit(broker::LogLimiter::Clock::now())) return;
    if (allowed) {
      log->info("client '{}' (key {}) authenticated", name, key_z85);
    } else {
      log->warn("refused a handshake from key {}: {}", key_z85.empty() ? std::string("(none)") : key_z85, reason);
    }
  };
}

void write_log(spdlog::logger& log, std::vector<broker::LogEvent>&& events, broker::LogLimiter& limiter) {
  for (const broker::LogEvent& event : events) {
    if (!limiter.admit(broker::LogLimiter::Clock::now())) continue;
    switch (event.level) {
      case broker::LogEvent::Level::debug: log.debug("{}", event.text); break;
      case broker::LogEvent::Level::info: log.info("{}", event.text); break;
      case broker::LogEvent::Level::warning: log.warn("{}", event.text); break;
    }
  }
  report_suppressed(log, limiter, "client event");
}

}  // namespace

class Broker::Impl {
 public:
  explicit Impl(BrokerOptions options)
      : options_((check_options(options), std::move(options))),
        log_(broker::make_logger(options_.log_level, options_.log_sink)),
        access_(access_of(options_)),
        context_(options_.io_threads),
        zap_(context_, auth::AllowList(), zap_domain, handshake_logger(log_)),
        router_(make_router(context_, options_)),
        core_(options_.limits, "zrelay " ZRELAY_VERSION, random_instance()),
        store_(open_store(options_, core_, *log_)) {
    zap_.replace(access_.keys);
    core_.set_access(access_.keys, access_.policy);
    core_.set_stream_wakeup([wakeup = stream_wakeup_] { wakeup->signal(); });  // it may outlive this loop
    bind(options_.bind);
    for (const std::string& address : options_.also_bind) bind(address);
    const std::string control = "inproc://zrelay-broker-control-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    zmq::socket_t inside(context_, zmq::socket_type::pair);
    inside.bind(control);
    control_ = zmq::socket_t(context_, zmq::socket_type::pair);
    control_.connect(control);
    thread_ = std::thread([this, inside = std::move(inside)]() mutable { serve(inside); });
  }

  ~Impl() { stop(); }

  void stop() noexcept {
    std::lock_guard lock(control_mutex_);
    if (!thread_.joinable()) return;
    try {
      (void)control_.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);  // fails only if the loop ended
    } catch (const zmq::error_t&) {
    }
    thread_.join();
    stopped_ = true;
    control_.close();
    router_.close();  // endpoints see the connection end
  }

  void reload(const BrokerOptions& options) {
    Access access = access_of(options);  // on this thread: a bad file changes nothing
    std::future<void> applied;
    {
      std::lock_guard lock(control_mutex_);
      if (!thread_.joinable() || !serving()) throw Error(ErrorCode::closed, "the broker is not serving");
      {
        std::lock_guard pending_lock(pending_mutex_);
        pending_access_ = std::move(access);
        pending_applied_ = std::promise<void>();
        applied = pending_applied_.get_future();
      }
      // Never blocks: the loop reads this socket until it ends, and once it ended nobody does.
      if (!control_.send(zmq::str_buffer("access"), zmq::send_flags::dontwait)) {
        throw Error(ErrorCode::closed, "the broker is not serving");
      }
    }
    if (applied.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      throw Error(ErrorCode::timeout, "the broker loop did not take the new keys and rules within 10 s");
    }
  }

  [[nodiscard]] const std::string& endpoint() const { return endpoints_.front(); }
  [[nodiscard]] const std::vector<std::string>& endpoints() const { return endpoints_; }
  [[nodiscard]] std::string public_key() const { return options_.certificate.public_key(); }
  [[nodiscard]] std::size_t denied_count() const { return zap_.denied_count(); }

  [[nodiscard]] bool serving() const noexcept { return !failed_ && !stopped_; }

  // Built by the loop when asked (never per tick: statistics cost O(clients + groups + held
  // items)); once the loop has ended, the statistics it published last.
  [[nodiscard]] BrokerStatistics stats() {
    std::lock_guard request(stats_request_mutex_);  // one request at a time: one promise
    std::future<void> built;
    {
      std::lock_guard lock(control_mutex_);
      if (thread_.joinable() && serving()) {
        {
          std::lock_guard stats_lock(stats_mutex_);
          stats_built_ = std::promise<void>();
          stats_requested_ = true;
          built = stats_built_.get_future();
        }
        if (!control_.send(zmq::str_buffer("stats"), zmq::send_flags::dontwait)) built = {};  // the loop ended
      }
    }
    if (built.valid() && built.wait_for(std::chrono::seconds(10)) != std::future_status::ready && serving()) {
      throw Error(ErrorCode::timeout, "the broker loop did not build its statistics within 10 s");
    }
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

 private:
  // The store of durable groups, loaded into the core; none without a data directory.
  static std::unique_ptr<broker::DurableStore> open_store(const BrokerOptions& options, broker::BrokerCore& core,
                                                         spdlog::logger& log) {
    if (!options.data_dir) return nullptr;
    auto store = std::make_unique<broker::DurableStore>(*options.data_dir, options.limits.max_store_bytes);
    broker::StoredState state = store->load();
    std::size_t items = 0;
    for (const auto& group : state.groups) items += group.items.size();
    log.info("store {}: {} durable group(s), {} item(s), {} producer(s), {} bytes", options.data_dir->string(),
             state.groups.size(), items, state.producers.size(), state.bytes);
    core.advance(broker::Clock::now());  // restored producers are unused from now on
    core.restore(std::move(state));
    core.set_store_room(store->room());
    return store;
  }

  static std::uint64_t random_instance() {
    std::random_device random;
    return (static_cast<std::uint64_t>(random()) << 32) ^ random();
  }

  void bind(const std::string& address) {
    try {
      router_.bind(address);
    } catch (const zmq::error_t& e) {
      throw Error(ErrorCode::configuration, "cannot bind " + address + ": " + e.what());
    }
    endpoints_.push_back(router_.get(zmq::sockopt::last_endpoint));
  }

  void publish_stats(bool asked = false) {
    BrokerStatistics stats = core_.statistics();
    std::lock_guard lock(stats_mutex_);
    stats_ = std::move(stats);
    // A request the loop answers late (after its caller gave up) may find the next request's
    // promise: it answers that one, and the next "stats" finds nothing left to answer.
    if (asked && std::exchange(stats_requested_, false)) stats_built_.set_value();
  }

  void serve(zmq::socket_t& control) {
    try {
      serve_until_stopped(control);
    } catch (const std::exception& e) {  // a fault of ours: log it rather than end the process
      log_->critical("the broker loop failed and stopped serving: {}", e.what());
      router_.close();  // endpoints see the connection end instead of a bound socket nobody serves
      failed_ = true;
      std::lock_guard lock(stats_mutex_);  // a caller waiting for statistics gets the last ones now
      if (std::exchange(stats_requested_, false)) stats_built_.set_value();
    }
  }

  // Handshakes that fail before authentication (garbage, wrong mechanism, broken CURVE) are
  // reported by libzmq's socket monitor only; ZAP refusals are logged by the ZAP handler.
  zmq::socket_t watch_handshakes() {
    const std::string address = "inproc://zrelay-broker-monitor-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    if (zmq_socket_monitor(router_.handle(), address.c_str(), broker::HandshakeWatch::events()) != 0) {
      throw zmq::error_t();
    }
    zmq::socket_t monitor(context_, zmq::socket_type::pair);
    monitor.connect(address);
    return monitor;
  }

  void on_monitor_event(zmq::socket_t& monitor) {
    zmq::message_t event;
    zmq::message_t address;
    while (monitor.recv(event, zmq::recv_flags::dontwait)) {
      (void)monitor.recv(address, zmq::recv_flags::none);
      if (event.size() < 6) continue;
      std::uint16_t id = 0;
      std::uint32_t value = 0;
      std::memcpy(&id, event.data(), sizeof id);
      std::memcpy(&value, static_cast<const char*>(event.data()) + sizeof id, sizeof value);
      // The descriptor is still open when ACCEPTED is read, unless the peer was very quick.
      const std::string peer = id == ZMQ_EVENT_ACCEPTED ? broker::HandshakeWatch::peer_of(static_cast<int>(value)) : "";
      const auto line = handshakes_.on_event(id, value, peer);
      if (line && log_limiter_.admit(broker::LogLimiter::Clock::now())) log_->warn("{}", *line);
    }
  }

  void serve_until_stopped(zmq::socket_t& control) {
    broker::RouterLink link(router_, core_, store_.get());
    zmq::socket_t monitor = watch_handshakes();
    // The control and monitor sockets are only read here, always until empty, so their ZMQ_FD
    // alone says when to look again (libzmq signals it when a message reaches an emptied
    // socket). zmq_poll would ask each for ZMQ_EVENTS, twice when it waits: a system call each.
    // A new socket signals only once it was emptied: both are read once before the first wait.
    on_monitor_event(monitor);
    if (on_control(control, link)) {
      zmq_socket_monitor(router_.handle(), nullptr, 0);
      return;
    }
    zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, control.get(zmq::sockopt::fd), ZMQ_POLLIN, 0},
                               {nullptr, monitor.get(zmq::sockopt::fd), ZMQ_POLLIN, 0},
                               {nullptr, stream_wakeup_->fd(), ZMQ_POLLIN, 0}};
    auto next_tick = broker::Clock::now() + options_.tick;
    for (;;) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_tick - broker::Clock::now());
      try {
        zmq::poll(items, 4, std::max(wait, std::chrono::milliseconds(0)));
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
        continue;
      }
      if ((items[1].revents & ZMQ_POLLIN) && on_control(control, link)) {
        zmq_socket_monitor(router_.handle(), nullptr, 0);
        return;
      }
      if (items[2].revents & ZMQ_POLLIN) on_monitor_event(monitor);
      if (items[3].revents & ZMQ_POLLIN) {  // a connection took a chunk: the next one can go
        stream_wakeup_->clear();
        core_.pump_streams();
        link.flush();
      }
      if (items[0].revents & ZMQ_POLLIN) link.receive_batch(next_tick);
      if (broker::Clock::now() >= next_tick) {
        if (store_) core_.set_store_room(store_->room());  // space may have come back without a write of ours
        core_.tick(broker::Clock::now());
        link.commit(true);
        link.flush();
        next_tick = broker::Clock::now() + options_.tick;
      }
      write_log(*log_, core_.take_log(), log_limiter_);
    }
  }

  // True once asked to stop: every client is told; the router then closes with the linger bound.
  bool on_control(zmq::socket_t& control, broker::RouterLink& link) {
    zmq::message_t request;
    while (control.recv(request, zmq::recv_flags::dontwait)) {
      if (request.to_string_view() == "stop") {
        log_->info("stopping: telling {} client(s)", core_.client_count());
        core_.shutdown();
        link.commit(true);  // the acknowledgements' erases too: a clean stop repeats nothing
        link.flush();
        publish_stats();
        return true;
      }
      if (request.to_string_view() == "stats") {
        publish_stats(true);
        continue;
      }
      apply_pending_access(link);
    }
    return false;
  }

  void apply_pending_access(broker::RouterLink& link) {
    std::lock_guard lock(pending_mutex_);
    if (!pending_access_) return;
    access_ = std::move(*pending_access_);
    pending_access_.reset();
    zap_.replace(access_.keys);  // new handshakes first, then the live sessions
    core_.set_access(access_.keys, access_.policy);
    link.flush();
    write_log(*log_, core_.take_log(), log_limiter_);
    log_->info("reloaded: {} authorized key(s), {} authorization rule(s)", access_.keys->size(),
                 access_.policy.rules().size());
    pending_applied_.set_value();
  }

  BrokerOptions options_;
  std::shared_ptr<spdlog::logger> log_;  // the broker's own (see broker_log.hpp)
  Access access_;
  std::mutex pending_mutex_;
  std::optional<Access> pending_access_;
  std::promise<void> pending_applied_;
  std::shared_ptr<broker::Wakeup> stream_wakeup_ = std::make_shared<broker::Wakeup>();
  zmq::context_t context_;
  auth::ZapHandler zap_;
  zmq::socket_t router_;
  broker::BrokerCore core_;
  std::unique_ptr<broker::DurableStore> store_;  // the loop's thread only, once serving
  std::vector<std::string> endpoints_;  // bound, with the ports the OS chose
  zmq::socket_t control_;
  std::mutex control_mutex_;  // control_ is used by stop() and reload() from any thread
  broker::LogLimiter log_limiter_{log_burst, std::chrono::seconds(1)};  // the loop's thread only
  broker::HandshakeWatch handshakes_;                                    // the loop's thread only
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopped_{false};
  std::mutex stats_request_mutex_;
  std::mutex stats_mutex_;
  BrokerStatistics stats_;          // the newest the loop built, under stats_mutex_
  std::promise<void> stats_built_;  // under stats_mutex_: set once stats_ answers the last request
  bool stats_requested_ = false;    // under stats_mutex_: stats_built_ is waited for
  std::thread thread_;
};

Broker::Broker(BrokerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Broker::~Broker() = default;
Broker::Broker(Broker&&) noexcept = default;
Broker& Broker::operator=(Broker&&) noexcept = default;

void Broker::stop() noexcept {
  if (impl_) impl_->stop();
}
void Broker::reload(const BrokerOptions& options) { impl_->reload(options); }
std::string Broker::endpoint() const { return impl_->endpoint(); }
std::vector<std::string> Broker::endpoints() const { return impl_->endpoints(); }
std::string Broker::public_key() const { return impl_->public_key(); }
std::size_t Broker::denied_count() const { return impl_->denied_count(); }
BrokerStatistics Broker::stats() const { return impl_->stats(); }
bool Broker::serving() const noexcept { return impl_ && impl_->serving(); }

}  // namespace zrelay
