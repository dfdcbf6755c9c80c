// tlspyo's quick start in C++: a broker, one producer and two consumers in one process.
// Consumer 1 gets the broadcast AND the produced object; consumer 2 only the broadcast.
#include <iostream>
#include <string>
#include <vector>

#include <boost/serialization/string.hpp>
#include <zrelay/broker.hpp>
#include <zrelay/endpoint.hpp>

int main() {
  using namespace std::chrono_literals;
  // Keys: in production they come from files made by zrelay-keygen (Certificate::load).
  const zrelay::Certificate broker_key = zrelay::Certificate::generate();
  const zrelay::Certificate client_key = zrelay::Certificate::generate();

  zrelay::BrokerOptions broker_options;
  broker_options.bind = "tcp://127.0.0.1:*";  // the OS picks a free port
  broker_options.certificate = broker_key;
  broker_options.authorized_keys = {client_key};
  zrelay::Broker relay(broker_options);

  auto endpoint = [&](std::string group) {
    zrelay::EndpointOptions options;
    options.broker = relay.endpoint();
    options.broker_public_key = relay.public_key();
    options.certificate = client_key;
    options.groups = {std::move(group)};
    return zrelay::Endpoint(options);
  };
  zrelay::Endpoint prod = endpoint("producers");
  zrelay::Endpoint cons_1 = endpoint("consumers");
  zrelay::Endpoint cons_2 = endpoint("consumers");

  prod.broadcast(std::string("I HAVE BEEN BROADCAST"), "consumers");
  prod.produce(std::string("I HAVE BEEN PRODUCED"), "consumers");
  cons_1.notify("consumers");

  std::vector<std::string> res;
  while (res.size() < 2) {
    for (const auto& message : cons_1.receive_all(zrelay::forever)) res.push_back(message.as<std::string>());
  }
  std::cout << "Consumer 1 has received: [" << res[0] << ", " << res[1] << "]\n";

  const auto got = cons_2.receive_all(zrelay::forever);
  std::cout << "Consumer 2 has received: [" << got.at(0).as<std::string>() << "]\n";

  prod.stop();
  cons_1.stop();
  cons_2.stop();
  relay.stop();
  const bool ok = res[0] == "I HAVE BEEN BROADCAST" && res[1] == "I HAVE BEEN PRODUCED" && got.size() == 1;
  return ok ? 0 : 1;
}
