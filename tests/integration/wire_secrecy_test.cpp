// What an on-path observer sees: every byte between an endpoint and the real broker, kept by a
// proxy (its selftest shows that it keeps every byte): CURVE encrypts the objects. The
// packet-capture counterpart is scripts/wire-check.sh.
#include "tests/support/relay_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

class WireSecrecy : public testing::RelayFixture {};

TEST_F(WireSecrecy, NoObjectCrossesTheWireInClear) {
  const std::string address = broker->endpoint();
  testing::TcpProxy proxy(static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  EndpointOptions options = options_for({"wire"}, client_key);
  options.broker = proxy.endpoint();
  const std::string marker = "zrelay-wire-marker-" + std::to_string(::getpid());
  {
    Endpoint through_proxy(std::move(options));
    through_proxy.produce_raw(marker, "wire");
    through_proxy.broadcast_raw(marker + marker, "wire");
    through_proxy.notify("wire");
    const auto got = receive(through_proxy, 2);
    ASSERT_EQ(got.size(), 2u);
    through_proxy.stop();
  }
  const std::string seen = proxy.seen();
  EXPECT_GT(seen.size(), 2 * marker.size()) << "the traffic went through the proxy";
  EXPECT_EQ(seen.find(marker), std::string::npos) << "the marker crossed the wire in clear";
}

}  // namespace
}  // namespace zrelay
