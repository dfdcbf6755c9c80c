// What the broker decodes: any bytes from an authenticated client, every command.
#include "fuzz/decode_round_trip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  zrelay::fuzz::decode_round_trip(data, size, [](zrelay::protocol::Frames& frames) {
    return zrelay::protocol::decode_client_batch(frames);
  });
  return 0;
}
