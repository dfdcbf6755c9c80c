// libzmq 4.3.4 pitfall: a CURVE server without a ZAP handler accepts every client unless
// ZMQ_ZAP_ENFORCE_DOMAIN is on. This pins the behaviour the broker relies on.
#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zrelay/certificate.hpp>

#include "protocol/zmq_compat.hpp"

namespace zrelay {
namespace {

bool server_receives_anything(bool enforce_domain) {
  zmq::context_t context(1);
  const Certificate server_key = Certificate::generate();
  const Certificate client_key = Certificate::generate();
  zmq::socket_t server(context, zmq::socket_type::router);
  server.set(zmq::sockopt::zap_domain, "zrelay");
  const int enforce = enforce_domain ? 1 : 0;
  EXPECT_EQ(zmq_setsockopt(server.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce), 0);
  server.set(zmq::sockopt::curve_server, 1);
  server.set(zmq::sockopt::curve_secretkey, server_key.secret_key());
  server.set(zmq::sockopt::linger, 0);
  server.bind("tcp://127.0.0.1:*");

  zmq::socket_t client(context, zmq::socket_type::dealer);
  client.set(zmq::sockopt::curve_serverkey, server_key.public_key());
  client.set(zmq::sockopt::curve_publickey, client_key.public_key());
  client.set(zmq::sockopt::curve_secretkey, client_key.secret_key());
  client.set(zmq::sockopt::linger, 0);
  client.connect(server.get(zmq::sockopt::last_endpoint));
  (void)client.send(zmq::str_buffer("hello"), zmq::send_flags::none);

  zmq::pollitem_t item{server.handle(), 0, ZMQ_POLLIN, 0};
  return zmq::poll(&item, 1, std::chrono::milliseconds(1000)) > 0;
}

TEST(FailClosed, WithoutZapHandlerEnforcedDomainAcceptsNobody) { EXPECT_FALSE(server_receives_anything(true)); }

TEST(FailClosed, WithoutEnforcementLibzmqWouldAcceptAnyKey) {
  // The control case: this is the hole ZMQ_ZAP_ENFORCE_DOMAIN closes.
  EXPECT_TRUE(server_receives_anything(false));
}

}  // namespace
}  // namespace zrelay
