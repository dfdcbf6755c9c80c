// What an endpoint decodes: any bytes from the broker, every command.
#include "fuzz/decode_round_trip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  zrelay::fuzz::decode_round_trip(data, size, [](zrelay::protocol::Frames& frames) {
    return zrelay::protocol::decode_broker_batch(frames);
  });
  return 0;
}
