// The protocol codec (protocol/codec.hpp): encoding and decoding the messages of the hot path,
// PRODUCE and DELIVER with their payload, READY and ACK, as the broker and endpoints do per message.
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "protocol/codec.hpp"

namespace zrelay::protocol {
namespace {

zmq::message_t payload_of(std::size_t size) { return zmq::message_t(std::string(size, 'x')); }

// A PRODUCE of `payload`, shared not copied (as the endpoint hands its objects over).
Frames encoded_produce(zmq::message_t& payload) {
  zmq::message_t copy;
  copy.copy(payload);
  return encode(ClientMessage{Produce{42, "work", 1, std::move(copy)}});
}

void produce_encode(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  zmq::message_t payload = payload_of(size);
  for (auto _ : state) {
    Frames frames = encoded_produce(payload);
    benchmark::DoNotOptimize(frames.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(produce_encode)->Arg(64)->Arg(1024)->Arg(64 * 1024);

void produce_round_trip(benchmark::State& state) {  // the endpoint encodes, the broker decodes
  const auto size = static_cast<std::size_t>(state.range(0));
  zmq::message_t payload = payload_of(size);
  for (auto _ : state) {
    Frames frames = encoded_produce(payload);
    ClientMessage message = decode_client(frames);
    benchmark::DoNotOptimize(&message);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(produce_round_trip)->Arg(64)->Arg(1024)->Arg(64 * 1024);

void deliver_round_trip(benchmark::State& state) {  // the broker encodes, the endpoint decodes
  const auto size = static_cast<std::size_t>(state.range(0));
  const zmq::message_t payload = payload_of(size);
  for (auto _ : state) {
    zmq::message_t copy;
    copy.copy(const_cast<zmq::message_t&>(payload));
    Frames frames = encode(BrokerMessage{Deliver{"work", Kind::produced, 7, 1, std::move(copy)}});
    BrokerMessage message = decode_broker(frames);
    benchmark::DoNotOptimize(&message);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(deliver_round_trip)->Arg(64)->Arg(1024);

void ready_round_trip(benchmark::State& state) {
  for (auto _ : state) {
    Frames frames = encode(ClientMessage{Ready{"work", 16}});
    ClientMessage message = decode_client(frames);
    benchmark::DoNotOptimize(&message);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(ready_round_trip);

void ack_round_trip(benchmark::State& state) {
  std::vector<std::uint64_t> ids(static_cast<std::size_t>(state.range(0)));
  std::iota(ids.begin(), ids.end(), 1000);
  for (auto _ : state) {
    Frames frames = encode(ClientMessage{Ack{ids}});
    ClientMessage message = decode_client(frames);
    benchmark::DoNotOptimize(&message);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));  // delivery ids acknowledged
}
BENCHMARK(ack_round_trip)->Arg(1)->Arg(256);

}  // namespace
}  // namespace zrelay::protocol
