// Payload serialization (include/zrelay/serialization.hpp: envelope + Boost binary archive, the
// bounded reader): model weights as a vector<float> of 1 M elements, a small sample struct, a string.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <zrelay/serialization.hpp>

namespace {

// A typical sample batch entry: a few fields and a short observation.
struct Sample {
  std::int64_t step = 0;
  double reward = 0;
  std::string name;
  std::vector<float> observation;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & step & reward & name & observation;
  }
};

std::span<const std::byte> bytes_of(const std::vector<char>& payload) {
  return {reinterpret_cast<const std::byte*>(payload.data()), payload.size()};
}

template <class T>
void save(benchmark::State& state, const T& value) {
  std::size_t size = 0;
  for (auto _ : state) {
    std::vector<char> payload = zrelay::serialize(value);
    size = payload.size();
    benchmark::DoNotOptimize(payload.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

template <class T>
void load(benchmark::State& state, const T& value) {
  const std::vector<char> payload = zrelay::serialize(value);
  for (auto _ : state) {
    T copy = zrelay::deserialize<T>(bytes_of(payload));
    benchmark::DoNotOptimize(&copy);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(payload.size()));
}

const std::vector<float> weights(1'000'000, 0.5f);
const Sample sample{123456, 0.75, "worker-7/episode-3", std::vector<float>(8, 1.5f)};
const std::string text(64, 'x');

void weights_save(benchmark::State& state) { save(state, weights); }
void weights_load(benchmark::State& state) { load(state, weights); }
void sample_save(benchmark::State& state) { save(state, sample); }
void sample_load(benchmark::State& state) { load(state, sample); }
void string64_save(benchmark::State& state) { save(state, text); }
void string64_load(benchmark::State& state) { load(state, text); }

BENCHMARK(weights_save)->Unit(benchmark::kMicrosecond);
BENCHMARK(weights_load)->Unit(benchmark::kMicrosecond);
BENCHMARK(sample_save);
BENCHMARK(sample_load);
BENCHMARK(string64_save);
BENCHMARK(string64_load);

}  // namespace
