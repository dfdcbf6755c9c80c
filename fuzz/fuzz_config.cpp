// The broker's TOML config parser (broker/config_file): any text in, a BrokerConfig or
// zrelay::Error (configuration) with a FILE:LINE:COLUMN message out.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <zrelay/error.hpp>

#include "broker/config_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  zrelay::broker::BrokerConfig config;
  try {
    zrelay::broker::read_config_text(text, "fuzz.toml", config);
  } catch (const zrelay::Error& e) {
    if (e.code() != zrelay::ErrorCode::configuration) {
      std::fprintf(stderr, "fuzz_config: another code than configuration: %s\n", e.what());
      std::abort();
    }
    if (std::string_view(e.what()).substr(0, 10) != "fuzz.toml:") {
      std::fprintf(stderr, "fuzz_config: an error that does not name the place: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
