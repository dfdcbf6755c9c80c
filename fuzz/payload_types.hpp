#pragma once
// The payload types fuzz_payload decodes, shared with the corpus generator.
#include <map>
#include <string>
#include <vector>

#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

namespace zrelay::fuzz {

struct Sample {
  int step = 0;
  std::string name;
  std::vector<float> observation;
  std::map<std::string, int> counts;
  double reward = 0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & step & name & observation & counts & reward;
  }
};

using Text = std::string;
using Floats = std::vector<float>;
using Counts = std::map<std::string, int>;

// First byte of a fuzz_payload input: bits 0-1 pick the type (in this order), bit 2 set means
// "the rest is the archive, wrap it in a valid envelope", clear means "the rest is the whole payload".
enum class PayloadType : std::uint8_t { text = 0, floats = 1, counts = 2, sample = 3 };
inline constexpr std::uint8_t wrap_flag = 0x04;

}  // namespace zrelay::fuzz
