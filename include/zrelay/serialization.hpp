#pragma once
// Objects on the wire: a 24-byte envelope (docs/protocol.md, "Payload encoding") followed by a
// Boost.Serialization binary archive. Decoding checks the envelope before Boost sees a byte and
// turns every failure into one zrelay::Error.
#include <cstddef>
#include <cstdint>
#include <span>
#include <streambuf>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/collection_size_type.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <zrelay/error.hpp>

namespace zrelay {

// Names a type on the wire; sender and receiver must agree. Specialize it to give a type a
// name that stays the same across compilers or renames.
template <class T>
struct type_tag {
  static std::string_view name() noexcept { return typeid(T).name(); }
};

namespace detail {

inline constexpr std::size_t envelope_size = 24;

[[nodiscard]] std::uint64_t fnv1a(std::string_view text) noexcept;
void write_envelope(char* out, std::uint64_t type_hash, std::uint64_t body_size) noexcept;
// Checks the envelope of `payload` for type `type_hash` and returns the archive bytes.
[[nodiscard]] std::span<const char> open_envelope(std::span<const std::byte> payload, std::uint64_t type_hash,
                                                  std::string_view type_name);

// A streambuf that appends to a vector after room left for the envelope.
class OutputBuffer : public std::streambuf {
 public:
  OutputBuffer();
  [[nodiscard]] std::vector<char> finish(std::uint64_t type_hash);

 protected:
  int_type overflow(int_type ch) override;
  std::streamsize xsputn(const char* data, std::streamsize count) override;

 private:
  void grow(std::size_t at_least);
  std::vector<char> buffer_;
};

// A read-only streambuf over bytes that someone else owns.
class InputBuffer : public std::streambuf {
 public:
  explicit InputBuffer(std::span<const char> bytes);
  [[nodiscard]] std::size_t remaining() const noexcept;
};

[[noreturn]] void throw_decode_failed(std::string_view type_name, const char* why);

// Boost's binary input archive (same bytes), except that a string or collection length larger
// than the bytes left in the payload is refused before anything is allocated: each element
// takes at least one byte, so a real length is never larger.
class BoundedIArchive
    : public boost::archive::binary_iarchive_impl<BoundedIArchive, char, std::char_traits<char>> {
  using Base = boost::archive::binary_iarchive_impl<BoundedIArchive, char, std::char_traits<char>>;
  friend class boost::archive::detail::interface_iarchive<BoundedIArchive>;
  friend class boost::archive::basic_binary_iarchive<BoundedIArchive>;
  friend class boost::archive::basic_binary_iprimitive<BoundedIArchive, char, std::char_traits<char>>;
  friend class boost::archive::load_access;

 public:
  explicit BoundedIArchive(InputBuffer& buffer) : Base(buffer, boost::archive::no_header), buffer_(buffer) {}

 protected:
  template <class T>
  void load_override(T& t) { Base::load_override(t); }
  void load_override(boost::serialization::collection_size_type& count) {
    Base::load_override(count);
    check_length(std::as_const(count));
  }
  using Base::load;
  void load(std::string& s) {
    std::size_t length = 0;
    this->load(length);
    check_length(length);
    s.resize(length);
    if (length > 0) this->load_binary(s.data(), length);
  }

 private:
  void check_length(std::size_t length) const {
    if (length > buffer_.remaining()) {
      throw boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error,
                                              "length larger than the payload");
    }
  }
  InputBuffer& buffer_;
};

}  // namespace detail

// Serializes `value` into a payload (envelope + archive).
template <class T>
[[nodiscard]] std::vector<char> serialize(const T& value) {
  detail::OutputBuffer buffer;
  {
    boost::archive::binary_oarchive archive(buffer, boost::archive::no_header);
    archive << value;
  }
  return buffer.finish(detail::fnv1a(type_tag<T>::name()));
}

// Reads a T from a payload. Throws zrelay::Error: type_mismatch if the payload holds another
// type, decode_failed if it is not a zrelay payload or its bytes are corrupt.
template <class T>
[[nodiscard]] T deserialize(std::span<const std::byte> payload) {
  const std::string_view name = type_tag<T>::name();
  detail::InputBuffer buffer(detail::open_envelope(payload, detail::fnv1a(name), name));
  T value{};
  try {
    detail::BoundedIArchive archive(buffer);
    archive >> value;
  } catch (...) {  // archive_exception, bad_alloc, length_error, ...: all mean corrupt bytes
    detail::throw_decode_failed(name, "the archive does not decode");
  }
  if (buffer.remaining() != 0) detail::throw_decode_failed(name, "bytes left over after the object");
  return value;
}

}  // namespace zrelay

BOOST_SERIALIZATION_REGISTER_ARCHIVE(zrelay::detail::BoundedIArchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(zrelay::detail::BoundedIArchive)
