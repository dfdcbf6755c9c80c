#pragma once
// A ZAP 1.0 (ZeroMQ RFC 27) handler that admits CURVE clients whose public key is allowed.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "auth/allow_list.hpp"

namespace zrelay::auth {

class ZapHandler {
 public:
  // Called on the handler's thread for every request; `key_z85` is empty when the request
  // carries no CURVE key, `name` is the allowed key's name (else empty), `reason` says why a
  // request was refused. Keep it short: handshakes wait for it.
  using Observer =
      std::function<void(const std::string& key_z85, const std::string& name, bool allowed, const std::string& reason)>;

  // Binds inproc://zeromq.zap.01 in `context` before returning, so CURVE server sockets bound
  // afterwards are guarded. Only requests for `domain` and mechanism CURVE can succeed.
  ZapHandler(zmq::context_t& context, AllowList allowed, std::string domain, Observer observer = {});
  ~ZapHandler();
  ZapHandler(ZapHandler&& other) noexcept;
  ZapHandler& operator=(ZapHandler&& other) noexcept;
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Applies to handshakes from now on; peers already connected stay connected.
  void replace(AllowList allowed);
  void replace(std::shared_ptr<const AllowList> allowed);
  // Requests answered with anything but 200 so far.
  [[nodiscard]] std::size_t denied_count() const noexcept;
  // Stops serving; later ZAP requests in the context then fail (closed). Idempotent.
  void stop() noexcept;

 private:
  struct State;

  std::unique_ptr<State> state_;  // shared with the thread; lives until the thread is joined
  zmq::socket_t control_;
  std::thread thread_;
};

}  // namespace zrelay::auth
