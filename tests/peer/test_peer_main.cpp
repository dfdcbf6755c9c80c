// zrelay_test_peer: an endpoint in its own process, for fault tests that kill or freeze it.
// It prints one line per fact, flushed at once, so the test can follow it:
//   ready                      connected, credits sent and confirmed by the broker
//   got ID ATTEMPT TEXT        a produced item or broadcast (raw bytes as text)
//   acked ID                   acknowledged (manual mode)
//   event STATE                a connection event
//   produced N                 (produce mode) N items handed to the endpoint
#include <chrono>
#include <deque>
#include <iostream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <zrelay/endpoint.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct Arguments {
  std::string mode = "consume";
  zrelay::EndpointOptions options;
  std::string certificate;
  std::string group;
  int credits = 1;
  int ack_after_ms = -1;  // -1: never acknowledge (hold the items); >= 0: manual ack after this delay
  int count = 0;
};

void print_events(zrelay::Endpoint& endpoint) {
  for (const auto& event : endpoint.take_connection_events()) {
    std::cout << "event " << zrelay::to_string(event.state) << std::endl;
  }
}

int consume(zrelay::Endpoint& endpoint, const Arguments& args) {
  endpoint.notify(args.group, args.credits);
  endpoint.sync();
  std::cout << "ready" << std::endl;
  std::deque<std::pair<Clock::time_point, zrelay::Message>> unacked;
  for (;;) {
    for (auto& message : endpoint.pop(64, std::chrono::milliseconds(20))) {
      std::cout << "got " << message.delivery_id() << ' ' << message.attempt() << ' ' << message.text() << std::endl;
      if (args.ack_after_ms >= 0) unacked.emplace_back(Clock::now() + std::chrono::milliseconds(args.ack_after_ms), message);
    }
    while (!unacked.empty() && unacked.front().first <= Clock::now()) {
      endpoint.ack(unacked.front().second);
      std::cout << "acked " << unacked.front().second.delivery_id() << std::endl;
      unacked.pop_front();
    }
    print_events(endpoint);
  }
}

int produce(zrelay::Endpoint& endpoint, const Arguments& args) {
  std::cout << "ready" << std::endl;
  const std::string item(1024, 'x');
  for (int i = 0; i < args.count || args.count == 0; ++i) {
    (void)endpoint.produce_raw(item, args.group);
    if ((i + 1) % 1000 == 0) std::cout << "produced " << (i + 1) << std::endl;
    print_events(endpoint);
  }
  endpoint.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("zrelay_test_peer");
  Arguments args;
  app.add_option("mode", args.mode)->check(CLI::IsMember({"consume", "produce"}));
  app.add_option("--broker", args.options.broker)->required();
  app.add_option("--broker-key", args.options.broker_public_key)->required();
  app.add_option("--cert", args.certificate)->required();
  app.add_option("--group", args.group)->required();
  app.add_option("--credits", args.credits);
  app.add_option("--ack-after-ms", args.ack_after_ms);
  app.add_option("--count", args.count);
  CLI11_PARSE(app, argc, argv);
  args.options.certificate_file = args.certificate;
  args.options.name = "test-peer";
  args.options.ack_mode = zrelay::AckMode::manual;
  if (args.mode == "consume") args.options.groups = {args.group};
  try {
    zrelay::Endpoint endpoint(args.options);
    return args.mode == "consume" ? consume(endpoint, args) : produce(endpoint, args);
  } catch (const zrelay::Error& e) {
    std::cout << "error " << e.what() << std::endl;
    return 1;
  }
}
