#include "tests/support/curve_peer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <sodium.h>
#include <zmq.h>

namespace zrelay::testing {
namespace {

static_assert(crypto_box_PUBLICKEYBYTES == 32 && crypto_box_SECRETKEYBYTES == 32 && crypto_box_BEFORENMBYTES == 32);
static_assert(crypto_box_NONCEBYTES == 24 && crypto_box_MACBYTES == 16);

// ZMTP frame flags (RFC 23).
constexpr std::uint8_t kMore = 0x01;
constexpr std::uint8_t kLong = 0x02;
constexpr std::uint8_t kCommand = 0x04;
// The flags byte inside a MESSAGE box is libzmq's msg_t flags, not the frame's: COMMAND is 0x02 there (a 0x04
// is masked away and the frame taken for data).
constexpr std::uint8_t kInnerMore = 0x01;
constexpr std::uint8_t kInnerCommand = 0x02;

constexpr std::size_t kGreetingSize = 64;
constexpr std::string_view kMessageName = "\x07MESSAGE";
constexpr std::size_t kMaxFrame = std::size_t{64} << 20;  // refuse to buffer more than this from a broken server

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
template <std::size_t N>
std::string_view view(const std::array<unsigned char, N>& a) {
  return {reinterpret_cast<const char*>(a.data()), N};
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}
std::uint64_t get_u64(std::string_view in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}
std::uint32_t get_u32(std::string_view in) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}
void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("CurvePeer: " + what); }
[[noreturn]] void fail_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), "CurvePeer: " + what);
}

std::string frame_header(std::uint8_t flags, std::size_t size) {
  std::string header;
  if (size > 255) {
    header.push_back(static_cast<char>(flags | kLong));
    put_u64(header, size);
  } else {
    header.push_back(static_cast<char>(flags));
    header.push_back(static_cast<char>(size));
  }
  return header;
}

std::string command_frame(std::string_view body) { return frame_header(kCommand, body.size()) + std::string(body); }

// A full 24-byte nonce: a 16-byte prefix and a short nonce, or an 8-byte prefix and 16 long-nonce bytes.
std::string nonce(std::string_view prefix, std::uint64_t short_nonce) {
  std::string n(prefix);
  put_u64(n, short_nonce);
  return n;
}
std::string long_nonce(std::string_view prefix, std::string_view random16) {
  return std::string(prefix) + std::string(random16);
}

std::string box(std::string_view plain, std::string_view full_nonce, const CurveKey& to, const CurveKey& from_secret) {
  std::string out(plain.size() + crypto_box_MACBYTES, '\0');
  if (crypto_box_easy(bytes(out), bytes(plain), plain.size(), bytes(full_nonce), to.data(), from_secret.data()) != 0)
    fail("crypto_box_easy failed");
  return out;
}
std::string box_afternm(std::string_view plain, std::string_view full_nonce, const std::array<unsigned char, 32>& key) {
  std::string out(plain.size() + crypto_box_MACBYTES, '\0');
  if (crypto_box_easy_afternm(bytes(out), bytes(plain), plain.size(), bytes(full_nonce), key.data()) != 0)
    fail("crypto_box_easy_afternm failed");
  return out;
}
std::optional<std::string> open(std::string_view boxed, std::string_view full_nonce, const CurveKey& from,
                                const CurveKey& to_secret) {
  if (boxed.size() < crypto_box_MACBYTES) return std::nullopt;
  std::string out(boxed.size() - crypto_box_MACBYTES, '\0');
  const int rc =
      crypto_box_open_easy(bytes(out), bytes(boxed), boxed.size(), bytes(full_nonce), from.data(), to_secret.data());
  if (rc != 0) return std::nullopt;
  return out;
}
std::optional<std::string> open_afternm(std::string_view boxed, std::string_view full_nonce,
                                        const std::array<unsigned char, 32>& key) {
  if (boxed.size() < crypto_box_MACBYTES) return std::nullopt;
  std::string out(boxed.size() - crypto_box_MACBYTES, '\0');
  if (crypto_box_open_easy_afternm(bytes(out), bytes(boxed), boxed.size(), bytes(full_nonce), key.data()) != 0)
    return std::nullopt;
  return out;
}

// A ZMTP metadata property: name length (1 byte), name, value length (4 bytes, big-endian), value.
std::string property(std::string_view name, std::string_view value) {
  std::string out(1, static_cast<char>(name.size()));
  out += name;
  put_u32(out, static_cast<std::uint32_t>(value.size()));
  out += value;
  return out;
}

std::map<std::string, std::string> parse_metadata(std::string_view in) {
  std::map<std::string, std::string> properties;
  while (!in.empty()) {
    const std::size_t name_size = static_cast<unsigned char>(in[0]);
    if (in.size() < 1 + name_size + 4) fail("malformed metadata in READY");
    const std::string name(in.substr(1, name_size));
    const std::size_t value_size = get_u32(in.substr(1 + name_size, 4));
    in.remove_prefix(1 + name_size + 4);
    if (in.size() < value_size) fail("malformed metadata in READY");
    properties[name] = std::string(in.substr(0, value_size));
    in.remove_prefix(value_size);
  }
  return properties;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

void init_sodium() {
  if (sodium_init() < 0) fail("sodium_init failed");
}

}  // namespace

CurveKey curve_key_from_z85(const std::string& z85) {
  CurveKey key{};
  if (z85.size() != 40 || zmq_z85_decode(key.data(), z85.c_str()) == nullptr)
    throw std::invalid_argument("not a Z85 CURVE key: '" + z85 + "'");
  return key;
}

CurveKeys curve_keys_from_z85(const std::string& public_z85, const std::string& secret_z85) {
  return CurveKeys{curve_key_from_z85(public_z85), curve_key_from_z85(secret_z85)};
}

CurveKeys make_curve_keys() {
  init_sodium();
  CurveKeys keys;
  crypto_box_keypair(keys.public_key.data(), keys.secret_key.data());
  return keys;
}

UniqueFd::UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UniqueFd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

CurvePeer::CurvePeer(std::uint16_t port, const CurveKey& server_public, const CurveKeys& client,
                     std::optional<std::string> routing_id, std::chrono::milliseconds timeout)
    : timeout_(timeout), server_public_(server_public), client_(client) {
  init_sodium();
  crypto_box_keypair(cn_public_.data(), cn_secret_.data());
  connect_to(port);
  exchange_greetings();
  send_hello();
  read_welcome();
  send_initiate(routing_id);
  read_ready();
}

void CurvePeer::connect_to(std::uint16_t port) {
  fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd_.get() < 0) fail_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    fail_errno("connect to 127.0.0.1:" + std::to_string(port));
  // Each frame leaves at once, so a test's frames are not held back by Nagle's algorithm.
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void CurvePeer::exchange_greetings() {
  std::string greeting(kGreetingSize, '\0');
  greeting[0] = '\xFF';  // signature: 0xFF, 8 bytes of padding, 0x7F
  greeting[9] = '\x7F';
  greeting[10] = 3;  // version 3.0
  greeting[11] = 0;
  std::memcpy(&greeting[12], "CURVE", 5);  // mechanism, zero-padded to 20 bytes; as-server (32) and filler stay 0
  send_raw(greeting);

  // libzmq sends its greeting in three parts (signature, major version, the rest), so read all 64 bytes.
  const std::string theirs = read_exact(kGreetingSize, deadline());
  if (static_cast<unsigned char>(theirs[0]) != 0xFF || (theirs[9] & 0x01) == 0)
    fail("the server's greeting has no ZMTP 3 signature");
  if (theirs[10] != 3) fail("the server speaks ZMTP major version " + std::to_string(theirs[10]) + ", not 3");
  if (theirs.substr(12, 20) != std::string("CURVE") + std::string(15, '\0'))
    fail("the server's mechanism is not CURVE");
  // Byte 32 (as-server) is not checked: libzmq 4.3.4 sends 0 there even as a CURVE server.
}

void CurvePeer::send_hello() {
  const std::uint64_t short_nonce = nonce_++;
  std::string hello("\x05HELLO\x01\x00", 8);  // command name, CurveZMQ version 1.0
  hello.append(72, '\0');                     // anti-amplification padding
  hello += view(cn_public_);
  put_u64(hello, short_nonce);
  hello += box(std::string(64, '\0'), nonce("CurveZMQHELLO---", short_nonce), server_public_, cn_secret_);
  send_raw(command_frame(hello));
}

void CurvePeer::read_welcome() {
  const std::string welcome = read_command("WELCOME");
  if (welcome.size() != 168) fail("WELCOME of " + std::to_string(welcome.size()) + " bytes, not 168");
  const auto plain = open(std::string_view(welcome).substr(24), long_nonce("WELCOME-", welcome.substr(8, 16)),
                          server_public_, cn_secret_);
  if (!plain) fail("WELCOME box does not open (wrong server key?)");
  std::copy_n(bytes(*plain), 32, cn_server_.begin());
  std::copy_n(bytes(*plain) + 32, 96, cookie_.begin());
  if (crypto_box_beforenm(precomputed_.data(), cn_server_.data(), cn_secret_.data()) != 0)
    fail("crypto_box_beforenm failed");
}

void CurvePeer::send_initiate(const std::optional<std::string>& routing_id) {
  // The vouch, Box[C' + S](C->S'), proves that the owner of the long-term key C made C'.
  std::string vouch_random(16, '\0');
  randombytes_buf(vouch_random.data(), vouch_random.size());
  const std::string vouch = box(std::string(view(cn_public_)) + std::string(view(server_public_)),
                                long_nonce("VOUCH---", vouch_random), cn_server_, client_.secret_key);

  std::string plain = std::string(view(client_.public_key)) + vouch_random + vouch;
  plain += property("Socket-Type", "DEALER");
  if (routing_id) plain += property("Identity", *routing_id);

  const std::uint64_t short_nonce = nonce_++;
  std::string initiate("\x08INITIATE");
  initiate += view(cookie_);
  put_u64(initiate, short_nonce);
  initiate += box_afternm(plain, nonce("CurveZMQINITIATE", short_nonce), precomputed_);
  send_raw(command_frame(initiate));
}

void CurvePeer::read_ready() {
  const std::string ready = read_command("READY");
  if (ready.size() < 14 + crypto_box_MACBYTES) fail("READY too short");
  peer_nonce_ = get_u64(std::string_view(ready).substr(6, 8));
  const auto plain =
      open_afternm(std::string_view(ready).substr(14), nonce("CurveZMQREADY---", peer_nonce_), precomputed_);
  if (!plain) fail("READY box does not open");
  server_metadata_ = parse_metadata(*plain);
}

// The next frame, which must be the handshake command `expected`; ERROR (what a ZAP denial brings) throws with its
// reason.
std::string CurvePeer::read_command(std::string_view expected) {
  const std::string what = "waiting for " + std::string(expected);
  auto frame = read_frame(deadline());
  if (!frame) fail("no " + std::string(expected) + " within " + std::to_string(timeout_.count()) + " ms");
  if ((frame->flags & kCommand) == 0) fail("a frame without the COMMAND flag while " + what);
  const std::string& body = frame->body;
  if (starts_with(body, "\x05" "ERROR")) {  // split: "\x05E" would be one hex escape
    const std::size_t size = body.size() > 6 ? static_cast<unsigned char>(body[6]) : 0;
    fail("the server sent ERROR '" + body.substr(std::min<std::size_t>(7, body.size()), size) + "' while " + what);
  }
  const std::string name = std::string(1, static_cast<char>(expected.size())) + std::string(expected);
  if (!starts_with(body, name)) fail("an unexpected command while " + what);
  return body;
}

std::string CurvePeer::seal(std::uint8_t inner_flags, std::string_view data) {
  const std::uint64_t short_nonce = nonce_++;
  std::string body(kMessageName);
  put_u64(body, short_nonce);
  body += box_afternm(std::string(1, static_cast<char>(inner_flags)) + std::string(data),
                      nonce("CurveZMQMESSAGEC", short_nonce), precomputed_);
  // Like libzmq: the outer flags carry only LONG; MORE and COMMAND are inside the box.
  return frame_header(0, body.size()) + body;
}

void CurvePeer::send_frame(std::string_view data, bool more) { send_raw(seal_frame(data, more)); }

void CurvePeer::send_message(const std::vector<std::string>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) send_frame(frames[i], i + 1 < frames.size());
}

std::string CurvePeer::seal_frame(std::string_view data, bool more) {
  return seal_frame_flags(more ? kInnerMore : 0, data);
}

std::string CurvePeer::seal_frame_flags(std::uint8_t inner_flags, std::string_view data) {
  last_sealed_ = seal(inner_flags, data);
  return last_sealed_;
}

void CurvePeer::send_raw(std::string_view bytes_out) {
  while (!bytes_out.empty()) {
    // MSG_NOSIGNAL: a server that has closed gives EPIPE here, not a SIGPIPE that ends the test binary.
    const ssize_t sent = ::send(fd_.get(), bytes_out.data(), bytes_out.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      fail_errno("send");
    }
    bytes_out.remove_prefix(static_cast<std::size_t>(sent));
  }
}

void CurvePeer::replay_last() {
  if (last_sealed_.empty()) throw std::logic_error("CurvePeer::replay_last: nothing sealed yet");
  send_raw(last_sealed_);
}

void CurvePeer::send_out_of_order(std::string_view first, std::string_view second) {
  const std::string earlier = seal_frame(first, false);
  const std::string later = seal_frame(second, false);
  send_raw(later);
  send_raw(earlier);
}

std::size_t CurvePeer::box_offset(std::string_view frame) {
  if (frame.empty()) throw std::out_of_range("CurvePeer::box_offset: empty frame");
  const std::size_t header = (static_cast<unsigned char>(frame[0]) & kLong) ? 9 : 2;
  return header + kMessageName.size() + 8;
}

std::string CurvePeer::flip_box_byte(std::string frame, std::size_t offset) {
  const std::size_t at = box_offset(frame) + offset;
  if (at >= frame.size()) throw std::out_of_range("CurvePeer::flip_box_byte: offset past the box");
  frame[at] = static_cast<char>(~static_cast<unsigned char>(frame[at]));
  return frame;
}

std::optional<std::vector<std::string>> CurvePeer::receive(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (auto frame = read_frame(until)) {
    std::string plain = open_message(*frame);
    const auto inner_flags = static_cast<std::uint8_t>(plain[0]);
    plain.erase(0, 1);
    if (inner_flags & kInnerCommand) {
      answer_command(plain);
      continue;
    }
    partial_.push_back(std::move(plain));
    if ((inner_flags & kInnerMore) == 0) return std::exchange(partial_, {});
  }
  return std::nullopt;
}

// The plaintext of a MESSAGE (flags byte first). The server's short nonces must rise, as libzmq's own client
// demands.
std::string CurvePeer::open_message(const Frame& frame) {
  const std::string_view body = frame.body;
  if (!starts_with(body, kMessageName) || body.size() < kMessageName.size() + 8 + crypto_box_MACBYTES + 1)
    fail("a frame that is not a MESSAGE box");
  const std::uint64_t short_nonce = get_u64(body.substr(kMessageName.size(), 8));
  if (short_nonce <= peer_nonce_)
    fail("server nonce " + std::to_string(short_nonce) + " after " + std::to_string(peer_nonce_));
  const auto plain =
      open_afternm(body.substr(kMessageName.size() + 8), nonce("CurveZMQMESSAGES", short_nonce), precomputed_);
  if (!plain) fail("a MESSAGE box from the server does not open");
  peer_nonce_ = short_nonce;
  return *plain;
}

// PING (name, 2-byte TTL, up to 16 bytes of context) gets PONG with the same context; PONG is dropped.
void CurvePeer::answer_command(std::string_view command) {
  if (starts_with(command, "\x04PING") && command.size() >= 7) {
    const std::string context(command.substr(7, 16));
    send_raw(seal(kInnerCommand, std::string("\x04PONG") + context));
    ++pings_answered_;
  } else if (!starts_with(command, "\x04PONG")) {
    fail("an unexpected command in a MESSAGE box");
  }
}

std::optional<CurvePeer::Frame> CurvePeer::read_frame(Clock::time_point until) {
  for (;;) {
    if (auto frame = take_frame()) return frame;
    if (!fill(until)) return std::nullopt;
  }
}

// A whole frame from the front of inbox_, if it holds one.
std::optional<CurvePeer::Frame> CurvePeer::take_frame() {
  if (inbox_.size() < 2) return std::nullopt;
  const auto flags = static_cast<std::uint8_t>(inbox_[0]);
  if (flags & ~(kMore | kLong | kCommand)) fail("a frame with reserved flag bits set");
  const std::size_t header = (flags & kLong) ? 9 : 2;
  if (inbox_.size() < header) return std::nullopt;
  const std::uint64_t size = (flags & kLong) ? get_u64(std::string_view(inbox_).substr(1, 8))
                                             : static_cast<unsigned char>(inbox_[1]);
  if (size > kMaxFrame) fail("a frame of " + std::to_string(size) + " bytes");
  if (inbox_.size() < header + size) return std::nullopt;
  Frame frame{flags, inbox_.substr(header, static_cast<std::size_t>(size))};
  inbox_.erase(0, header + static_cast<std::size_t>(size));
  return frame;
}

std::string CurvePeer::read_exact(std::size_t size, Clock::time_point until) {
  while (inbox_.size() < size)
    if (!fill(until)) fail("no greeting within " + std::to_string(timeout_.count()) + " ms");
  std::string out = inbox_.substr(0, size);
  inbox_.erase(0, size);
  return out;
}

// Appends what the socket has to inbox_; false if nothing came before the deadline.
bool CurvePeer::fill(Clock::time_point until) {
  if (!wait_readable(until)) return false;
  char buffer[65536];
  ssize_t got;
  do {
    got = ::recv(fd_.get(), buffer, sizeof buffer, 0);
  } while (got < 0 && errno == EINTR);
  if (got == 0 || (got < 0 && errno == ECONNRESET)) fail("the server closed the connection");
  if (got < 0) fail_errno("recv");
  inbox_.append(buffer, static_cast<std::size_t>(got));
  return true;
}

bool CurvePeer::wait_readable(Clock::time_point until) const {
  if (fd_.get() < 0) throw std::logic_error("CurvePeer: the connection is closed");
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    pollfd entry{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count())));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) fail_errno("poll");
  }
}

bool CurvePeer::wait_closed(std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  inbox_.clear();
  while (wait_readable(until)) {
    char buffer[65536];
    const ssize_t got = ::recv(fd_.get(), buffer, sizeof buffer, 0);
    if (got == 0 || (got < 0 && errno == ECONNRESET)) return true;
    if (got < 0 && errno != EINTR) fail_errno("recv");
  }
  return false;
}

void CurvePeer::close() { fd_.reset(); }

}  // namespace zrelay::testing
