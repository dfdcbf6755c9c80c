// Writes the seed corpus of every fuzzer into DIR/<fuzzer>/ (fuzz/corpus in the repository):
// real messages of every command encoded by the codec, real certificate files written by
// Certificate::save (what zrelay-keygen writes) and CZMQ-style variants, real payloads, and
// seeded schedules for the BrokerCore driver.
// Usage: zrelay_fuzz_corpus DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <zrelay/certificate.hpp>
#include <zrelay/serialization.hpp>

#include "fuzz/frames.hpp"
#include "fuzz/payload_types.hpp"
#include "protocol/codec.hpp"

namespace {

namespace fs = std::filesystem;
using namespace zrelay::protocol;
using zrelay::fuzz::join_frames;

fs::path root;

void write(const std::string& fuzzer, const std::string& name, const std::string& bytes) {
  const fs::path dir = root / fuzzer;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

zmq::message_t text(const std::string& s) { return zmq::message_t(s.data(), s.size()); }

void client_messages() {
  const std::string f = "fuzz_client_decoder";
  write(f, "hello", join_frames(encode(ClientMessage{Hello{"worker-1", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}})));
  // A batch of three commands (docs/protocol.md's example): both ACKs and the READY in one frame.
  Frames batch = encode(ClientMessage{Ack{{7}}});
  const std::string more = encode(ClientMessage{Ack{{9}}})[0].to_string().substr(4) +
                           encode(ClientMessage{Ready{"g", 16}})[0].to_string().substr(4);
  batch[0] = zmq::message_t(batch[0].to_string() + more);
  write(f, "batch", join_frames(batch));
  write(f, "produce_apart", join_frames(encode(ClientMessage{Produce{10, "work", 1, text(std::string(5000, 'p'))}})));
  write(f, "join", join_frames(encode(ClientMessage{Join{"consumers"}})));
  write(f, "leave", join_frames(encode(ClientMessage{Leave{"consumers"}})));
  write(f, "broadcast", join_frames(encode(ClientMessage{Broadcast{7, "weights", text("I HAVE BEEN BROADCAST")}})));
  write(f, "broadcast_large",
        join_frames(encode(ClientMessage{Broadcast{8, "weights", text(std::string(1000, 'w'))}})));
  write(f, "produce", join_frames(encode(ClientMessage{Produce{9, "work", 3, text("I HAVE BEEN PRODUCED")}})));
  write(f, "ready", join_frames(encode(ClientMessage{Ready{"work", 16}})));
  write(f, "ready_all", join_frames(encode(ClientMessage{Ready{"work", -1}})));
  write(f, "ping", join_frames(encode(ClientMessage{Ping{0x0123456789ABCDEFull}})));
  write(f, "bye", join_frames(encode(ClientMessage{Bye{}})));
  write(f, "ack", join_frames(encode(ClientMessage{Ack{{1}}})));
  write(f, "ack_many", join_frames(encode(ClientMessage{Ack{{1, 2, 3, 0xFFFFFFFFFFFFFFFFull, 42}}})));
  write(f, "begin", join_frames(encode(ClientMessage{Begin{11, "weights", zrelay::Kind::broadcast, 1, 3u << 20}})));
  write(f, "chunk", join_frames(encode(ClientMessage{Chunk{11, 1u << 20, text(std::string(5000, 'c'))}})));
  // Invalid on purpose: a broker command, nine frames.
  write(f, "broker_command", join_frames(encode(BrokerMessage{Pong{1}})));
  Frames nine = encode(ClientMessage{Produce{1, "work", 1, text("x")}});
  while (nine.size() < 9) nine.emplace_back(text("extra"));
  write(f, "nine_frames", join_frames(nine));
}

void broker_messages() {
  const std::string f = "fuzz_broker_decoder";
  write(f, "welcome", join_frames(encode(BrokerMessage{Welcome{1u << 28, "zrelay 0.1.0", 0xABCDEF0123456789ull, 1000, 3000}})));
  write(f, "joined", join_frames(encode(BrokerMessage{Joined{"consumers"}})));
  write(f, "left", join_frames(encode(BrokerMessage{Left{"consumers"}})));
  write(f, "deliver_broadcast",
        join_frames(encode(BrokerMessage{Deliver{"weights", zrelay::Kind::broadcast, 12, 1, text("I HAVE BEEN BROADCAST"),
                                                 zrelay::ObjectId{{0xAB}, 8, 0}}})));
  write(f, "deliver_produced",
        join_frames(encode(BrokerMessage{Deliver{"work", zrelay::Kind::produced, 13, 2, text("I HAVE BEEN PRODUCED"),
                                                 zrelay::ObjectId{{0xAB, 0xCD}, 9, 1}}})));
  write(f, "error", join_frames(encode(BrokerMessage{ErrorReply{zrelay::ErrorCode::queue_full, 9, "work", "queue full"}})));
  write(f, "error_no_group",
        join_frames(encode(BrokerMessage{ErrorReply{zrelay::ErrorCode::hello_expected, 0, "", "HELLO first"}})));
  write(f, "pong", join_frames(encode(BrokerMessage{Pong{0x0123456789ABCDEFull}})));
  for (std::uint8_t reason = 0; reason <= 3; ++reason) {
    write(f, "goodbye_" + std::to_string(reason),
          join_frames(encode(BrokerMessage{Goodbye{static_cast<GoodbyeReason>(reason)}})));
  }
  write(f, "deliver_begin", join_frames(encode(BrokerMessage{DeliverBegin{"weights", zrelay::Kind::broadcast, 14, 1,
                                                                         zrelay::ObjectId{{0xAB}, 11, 0}, 3u << 20}})));
  write(f, "deliver_chunk", join_frames(encode(BrokerMessage{DeliverChunk{14, 0, text(std::string(5000, 'd'))}})));
  write(f, "abort", join_frames(encode(BrokerMessage{Abort{14}})));
  write(f, "client_command", join_frames(encode(ClientMessage{Ping{1}})));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void certificates() {
  const std::string f = "fuzz_certificate";
  const fs::path dir = fs::temp_directory_path() / ("zrelay-corpus-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  zrelay::Certificate cert = zrelay::Certificate::generate();
  cert.set_meta("name", "alice");
  cert.save(dir / "alice");  // what zrelay-keygen writes: alice and alice_secret
  write(f, "keygen_public", read_file(dir / "alice"));
  write(f, "keygen_secret", read_file(dir / "alice_secret"));
  fs::remove_all(dir);

  // As CZMQ's zcert_save writes them (its header, the all-zero secret placeholder of a public file).
  const std::string czmq_header = "#   ****  Generated on 2024-05-01 10:00:00 by CZMQ  ****\n";
  write(f, "czmq_public", czmq_header +
                              "#   ZeroMQ CURVE Public Certificate\n"
                              "#   Exchange securely, or use a secure mechanism to verify the contents\n"
                              "#   of this file after exchange. Store public certificates in your home\n"
                              "#   directory, in the .curve subdirectory.\n"
                              "\n"
                              "metadata\n"
                              "    name = \"bob\"\n"
                              "    email = \"bob@example.org\"\n"
                              "curve\n"
                              "    public-key = \"" + cert.public_key() + "\"\n");
  write(f, "czmq_secret", czmq_header +
                              "#   ZeroMQ CURVE **Secret** Certificate\n"
                              "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
                              "\n"
                              "metadata\n"
                              "curve\n"
                              "    public-key = \"" + cert.public_key() + "\"\n"
                              "    secret-key = \"" + cert.secret_key() + "\"\n");
  write(f, "hand_written",
        "#   a comment\r\n"
        "\r\n"
        "metadata   # section comment\r\n"
        "    name = bob  # unquoted, comment stripped\r\n"
        "    team = 'ops'\r\n"
        "    # indented comment\r\n"
        "other\r\n"
        "    nested\r\n"
        "        deeper = 1\r\n"
        "curve\r\n"
        "    public-key = \"" + cert.public_key() + "\"\r\n"
        "    secret-key = \"0000000000000000000000000000000000000000\"\r\n");
}

std::string payload(const std::vector<char>& bytes) { return std::string(bytes.begin(), bytes.end()); }

void payloads() {
  using namespace zrelay::fuzz;
  const std::string f = "fuzz_payload";
  // Each value twice: as a whole payload (envelope included) and as the bare archive, which the
  // fuzzer wraps in a valid envelope (wrap_flag).
  auto both = [&](const std::string& name, PayloadType type, const std::vector<char>& bytes) {
    const auto selector = static_cast<char>(type);
    write(f, name, selector + payload(bytes));
    write(f, name + "_archive",
          static_cast<char>(selector | wrap_flag) + payload(bytes).substr(zrelay::detail::envelope_size));
  };
  both("text", PayloadType::text, zrelay::serialize(Text("I HAVE BEEN BROADCAST")));
  both("text_empty", PayloadType::text, zrelay::serialize(Text()));
  both("floats", PayloadType::floats, zrelay::serialize(Floats{0.5f, -1.0f, 2.25f, 1e30f}));
  both("counts", PayloadType::counts, zrelay::serialize(Counts{{"a", 1}, {"bb", -2}, {"ccc", 300000}}));
  both("sample", PayloadType::sample,
       zrelay::serialize(Sample{3, "episode", {0.5f, -1.0f}, {{"steps", 10}}, 1.5}));
  // A type mismatch: a string payload read as floats.
  write(f, "mismatch", static_cast<char>(PayloadType::floats) + payload(zrelay::serialize(Text("x"))));
}

// Schedules for fuzz_broker_core: the bytes the seeded simulation test draws for its first seeds.
void broker_core_schedules() {
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    std::mt19937_64 random(seed);
    std::string bytes(4096, '\0');
    for (char& b : bytes) b = static_cast<char>(random());
    write("fuzz_broker_core", "schedule-" + std::to_string(seed), bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: zrelay_fuzz_corpus DIR\n";
    return 64;
  }
  root = argv[1];
  client_messages();
  broker_messages();
  certificates();
  payloads();
  broker_core_schedules();
  std::cout << "seed corpus written to " << root.string() << "\n";
  return 0;
}
