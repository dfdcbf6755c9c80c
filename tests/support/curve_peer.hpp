#pragma once
// A hostile ZMTP 3.0 + CurveZMQ client (RFC 23, RFC 26) over a plain TCP socket and libsodium, for tests that must
// put on the wire what libzmq never sends: replayed or reordered nonces, flipped box bytes, hand-made frames.
//
// Wire choices follow libzmq 4.3.4 as a client would make them: handshake commands go out with the COMMAND flag,
// MESSAGE boxes as plain frames whose outer flags carry nothing but LONG (MORE, 0x01, and COMMAND, 0x02, travel in
// the flags byte inside the box), and the client's short nonces count 1 (HELLO), 2 (INITIATE), 3... (MESSAGE).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zrelay::testing {

using CurveKey = std::array<unsigned char, 32>;

struct CurveKeys {
  CurveKey public_key{}, secret_key{};
};

// Raw keys from their Z85 forms (40 characters each), via zmq_z85_decode; throws std::invalid_argument if either
// is not a Z85 key.
CurveKeys curve_keys_from_z85(const std::string& public_z85, const std::string& secret_z85);
// One raw key from its Z85 form; throws std::invalid_argument.
CurveKey curve_key_from_z85(const std::string& z85);
// A fresh long-term key pair (crypto_box_keypair).
CurveKeys make_curve_keys();

// Owns a file descriptor; moving leaves -1 behind.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept;
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  void reset() noexcept;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

class CurvePeer {
 public:
  // Connects to 127.0.0.1:port and does the whole handshake as a CURVE client: greeting, HELLO, WELCOME, INITIATE
  // (vouch; metadata Socket-Type=DEALER and, if routing_id is given, Identity=routing_id), READY. Throws
  // std::runtime_error saying which step failed if the server closes, answers ERROR (a ZAP denial: the reason is in
  // the message) or sends anything else unexpected. Each read waits with poll() up to `timeout`.
  CurvePeer(std::uint16_t port, const CurveKey& server_public, const CurveKeys& client,
            std::optional<std::string> routing_id = std::nullopt,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // One message frame (a MESSAGE box; flags byte 0x01 inside it if more, else 0x00) with the next nonce.
  void send_frame(std::string_view data, bool more);
  // All frames, MORE on all but the last.
  void send_message(const std::vector<std::string>& frames);
  // The whole ZMTP frame send_frame would send (header + "\x07MESSAGE" + short nonce + box), not sent; its nonce is
  // used up. Also kept for replay_last().
  std::string seal_frame(std::string_view data, bool more);
  // seal_frame with any flags byte inside the box (libzmq: 0x01 MORE, 0x02 COMMAND; other bits are ignored).
  std::string seal_frame_flags(std::uint8_t inner_flags, std::string_view data);
  // Bytes as they are onto the TCP stream.
  void send_raw(std::string_view bytes);

  // Sends the frame that seal_frame or send_frame made last once more, byte for byte (so with the same nonce).
  void replay_last();
  // Seals `first` (nonce n) and `second` (n + 1), each a whole message, and sends second before first.
  void send_out_of_order(std::string_view first, std::string_view second);
  // Where the box (MAC first) starts in a frame seal_frame made.
  static std::size_t box_offset(std::string_view frame);
  // `frame` with the byte at `offset` into its box inverted; throws std::out_of_range past the box.
  static std::string flip_box_byte(std::string frame, std::size_t offset);

  // One whole message (all frames up to one without MORE), boxes opened; answers a PING command with PONG on the
  // way. std::nullopt if no whole message arrives within `timeout` (frames of a partial one are kept for the next
  // call). Throws std::runtime_error if the server closes the connection or sends a frame that does not open.
  std::optional<std::vector<std::string>> receive(std::chrono::milliseconds timeout);
  // True once the server has closed the connection (EOF or ECONNRESET within `timeout`); data read is discarded.
  // After close() it throws std::logic_error, as do the other reads.
  bool wait_closed(std::chrono::milliseconds timeout);
  // Closes the connection now.
  void close();

  [[nodiscard]] int fd() const { return fd_.get(); }
  // The short nonce the next sealed frame gets.
  [[nodiscard]] std::uint64_t next_nonce() const { return nonce_; }
  // The properties the server announced in READY (libzmq: Socket-Type, Identity).
  [[nodiscard]] const std::map<std::string, std::string>& server_metadata() const { return server_metadata_; }
  // How many PINGs receive() has answered.
  [[nodiscard]] std::size_t pings_answered() const { return pings_answered_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Frame {
    std::uint8_t flags = 0;
    std::string body;
  };

  void connect_to(std::uint16_t port);
  void exchange_greetings();
  void send_hello();
  void read_welcome();
  void send_initiate(const std::optional<std::string>& routing_id);
  void read_ready();
  std::string read_command(std::string_view expected);

  std::string seal(std::uint8_t inner_flags, std::string_view data);
  std::string open_message(const Frame& frame);
  void answer_command(std::string_view command);
  std::optional<Frame> read_frame(Clock::time_point deadline);
  std::optional<Frame> take_frame();
  std::string read_exact(std::size_t size, Clock::time_point deadline);
  bool fill(Clock::time_point deadline);
  bool wait_readable(Clock::time_point deadline) const;
  [[nodiscard]] Clock::time_point deadline() const { return Clock::now() + timeout_; }

  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  CurveKey server_public_;
  CurveKeys client_;
  CurveKey cn_public_{}, cn_secret_{}, cn_server_{};  // C', c', S'
  std::array<unsigned char, 96> cookie_{};
  std::array<unsigned char, 32> precomputed_{};  // crypto_box_beforenm(S', c')
  std::uint64_t nonce_ = 1;                       // our next short nonce
  std::uint64_t peer_nonce_ = 0;                  // the server's last short nonce
  std::map<std::string, std::string> server_metadata_;
  std::string inbox_;                  // bytes read but not yet taken as a frame
  std::vector<std::string> partial_;   // frames of a message not yet complete
  std::string last_sealed_;
  std::size_t pings_answered_ = 0;
};

}  // namespace zrelay::testing
