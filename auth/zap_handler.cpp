#include "auth/zap_handler.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include <zmq_addon.hpp>

#include <zrelay/error.hpp>

namespace zrelay::auth {
namespace {

constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";
constexpr std::size_t curve_key_size = 32;

struct Verdict {
  std::string status_code;
  std::string status_text;
  std::string key_z85;  // the client's key, when the request carried a well-formed one
  std::string name;     // of an allowed key
};

std::string_view text_of(const zmq::message_t& frame) { return {frame.data<char>(), frame.size()}; }

std::string z85_of(const zmq::message_t& key) {
  char text[41] = {};
  zmq_z85_encode(text, key.data<std::uint8_t>(), curve_key_size);
  return text;
}

// Request frames: version, request id, domain, address, identity, mechanism, credentials...
Verdict judge(const std::vector<zmq::message_t>& request, const AllowList& allowed, std::string_view domain) {
  if (request.size() < 6) return {"500", "malformed ZAP request", {}};
  if (text_of(request[0]) != "1.0") return {"500", "unsupported ZAP version", {}};
  if (text_of(request[5]) != "CURVE") return {"400", "mechanism not allowed", {}};
  if (request.size() != 7 || request[6].size() != curve_key_size) return {"500", "malformed CURVE credentials", {}};
  std::string key_z85 = z85_of(request[6]);
  if (text_of(request[2]) != domain) return {"400", "unknown domain", std::move(key_z85)};
  const std::span<const std::uint8_t, curve_key_size> key(request[6].data<std::uint8_t>(), curve_key_size);
  auto name = allowed.find(key);
  if (!name) return {"400", "client key not authorized", std::move(key_z85)};
  return {"200", "OK", std::move(key_z85), std::move(*name)};
}

}  // namespace

struct ZapHandler::State {
  std::string domain;
  Observer observer;
  std::atomic<std::size_t> denied{0};
  mutable std::mutex mutex;
  std::shared_ptr<const AllowList> allowed;

  std::shared_ptr<const AllowList> current() const {
    std::lock_guard lock(mutex);
    return allowed;
  }

  void notify(const Verdict& verdict, bool ok) const noexcept {
    if (!observer) return;
    try {
      observer(verdict.key_z85, verdict.name, ok, ok ? std::string() : verdict.status_text);
    } catch (...) {
      // an observer's fault must not stop authentication
    }
  }

  void answer(zmq::socket_t& zap) {
    std::vector<zmq::message_t> request;
    if (!zmq::recv_multipart(zap, std::back_inserter(request), zmq::recv_flags::dontwait)) return;
    const Verdict verdict = judge(request, *current(), domain);
    const bool ok = verdict.status_code == "200";
    if (!ok) denied.fetch_add(1, std::memory_order_relaxed);
    notify(verdict, ok);
    const std::string request_id = request.size() > 1 ? request[1].to_string() : std::string();
    const std::string user_id = ok ? verdict.key_z85 : std::string();
    const std::array<zmq::const_buffer, 6> reply = {
        zmq::str_buffer("1.0"), zmq::buffer(request_id), zmq::buffer(verdict.status_code),
        zmq::buffer(verdict.status_text), zmq::buffer(user_id), zmq::const_buffer()};
    zmq::send_multipart(zap, reply);
  }

  void serve(zmq::socket_t zap, zmq::socket_t control) noexcept {
    std::array<zmq::pollitem_t, 2> items = {{{zap.handle(), 0, ZMQ_POLLIN, 0}, {control.handle(), 0, ZMQ_POLLIN, 0}}};
    for (;;) {
      try {
        zmq::poll(items);
        if (items[1].revents & ZMQ_POLLIN) return;
        if (items[0].revents & ZMQ_POLLIN) answer(zap);
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) return;  // ETERM: the context is shutting down
      } catch (...) {
        return;  // unanswered handshakes then time out: fail closed
      }
    }
  }
};

ZapHandler::ZapHandler(zmq::context_t& context, AllowList allowed, std::string domain, Observer observer)
    : state_(std::make_unique<State>()) {
  state_->domain = std::move(domain);
  state_->observer = std::move(observer);
  state_->allowed = std::make_shared<const AllowList>(std::move(allowed));

  zmq::socket_t zap(context, zmq::socket_type::rep);
  zap.set(zmq::sockopt::linger, 0);
  try {
    zap.bind(zap_endpoint);
  } catch (const zmq::error_t& e) {
    throw Error(ErrorCode::configuration,
                std::string("cannot bind the ZAP handler (is another one running in this context?): ") + e.what());
  }
  const std::string control_endpoint =
      "inproc://zrelay-zap-control-" + std::to_string(reinterpret_cast<std::uintptr_t>(state_.get()));
  zmq::socket_t inside(context, zmq::socket_type::pair);
  inside.set(zmq::sockopt::linger, 0);
  inside.bind(control_endpoint);
  control_ = zmq::socket_t(context, zmq::socket_type::pair);
  control_.set(zmq::sockopt::linger, 0);
  control_.connect(control_endpoint);
  thread_ = std::thread([state = state_.get(), zap = std::move(zap), inside = std::move(inside)]() mutable {
    state->serve(std::move(zap), std::move(inside));
  });
}

ZapHandler::~ZapHandler() { stop(); }

ZapHandler::ZapHandler(ZapHandler&& other) noexcept = default;

ZapHandler& ZapHandler::operator=(ZapHandler&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
    control_ = std::move(other.control_);
    thread_ = std::move(other.thread_);
  }
  return *this;
}

void ZapHandler::replace(AllowList allowed) { replace(std::make_shared<const AllowList>(std::move(allowed))); }

void ZapHandler::replace(std::shared_ptr<const AllowList> allowed) {
  std::lock_guard lock(state_->mutex);
  state_->allowed = std::move(allowed);
}

std::size_t ZapHandler::denied_count() const noexcept {
  return state_ ? state_->denied.load(std::memory_order_relaxed) : 0;
}

void ZapHandler::stop() noexcept {
  if (!thread_.joinable()) return;
  try {
    control_.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // the context is shutting down: the thread's poll ends with ETERM
  }
  thread_.join();
  control_.close();
}

}  // namespace zrelay::auth
