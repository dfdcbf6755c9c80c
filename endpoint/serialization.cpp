#include <zrelay/serialization.hpp>

#include <cstring>
#include <string>

#include <boost/archive/basic_archive.hpp>
#include <boost/core/demangle.hpp>
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>

// The members of zrelay's input archive that Boost compiles only for its own archives.
namespace boost::archive {
template class detail::archive_serializer_map<zrelay::detail::BoundedIArchive>;
template class basic_binary_iprimitive<zrelay::detail::BoundedIArchive, char, std::char_traits<char>>;
template class basic_binary_iarchive<zrelay::detail::BoundedIArchive>;
template class binary_iarchive_impl<zrelay::detail::BoundedIArchive, char, std::char_traits<char>>;
}  // namespace boost::archive

namespace zrelay::detail {
namespace {

constexpr unsigned char magic[4] = {0x5A, 0x52, 0x42, 0x01};  // "ZRB", envelope version 1

std::uint8_t platform_flags() noexcept {
  std::uint8_t flags = 0;
  const std::uint16_t probe = 1;
  if (*reinterpret_cast<const std::uint8_t*>(&probe) == 1) flags |= 1;
  if (sizeof(long) == 8) flags |= 2;
  return flags;
}

std::uint16_t archive_version() noexcept {
  const boost::serialization::library_version_type version = boost::archive::BOOST_ARCHIVE_VERSION();
  return static_cast<std::uint16_t>(version);  // const: the value conversion, not the reference one
}

void put_u64(char* out, std::uint64_t value) noexcept {
  for (int i = 7; i >= 0; --i, value >>= 8) out[i] = static_cast<char>(value & 0xFF);
}

std::uint64_t get_u64(const unsigned char* in) noexcept {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | in[i];
  return value;
}

}  // namespace

std::uint64_t fnv1a(std::string_view text) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void write_envelope(char* out, std::uint64_t type_hash, std::uint64_t body_size) noexcept {
  std::memcpy(out, magic, 4);
  const std::uint16_t version = archive_version();
  out[4] = static_cast<char>(version >> 8);
  out[5] = static_cast<char>(version & 0xFF);
  out[6] = static_cast<char>(platform_flags());
  out[7] = 0;
  put_u64(out + 8, type_hash);
  put_u64(out + 16, body_size);
}

// A type as people write it: the tag is the mangled name, messages name the demangled one.
std::string readable(std::string_view type_name) { return boost::core::demangle(std::string(type_name).c_str()); }

void throw_decode_failed(std::string_view type_name, const char* why) {
  throw Error(ErrorCode::decode_failed, "cannot decode a " + readable(type_name) + " payload: " + why);
}

std::span<const char> open_envelope(std::span<const std::byte> payload, std::uint64_t type_hash,
                                    std::string_view type_name) {
  const auto* in = reinterpret_cast<const unsigned char*>(payload.data());
  if (payload.size() < envelope_size || std::memcmp(in, magic, 4) != 0) {
    throw_decode_failed(type_name, "not a zrelay object payload (raw bytes? use Message::bytes())");
  }
  if (((in[4] << 8) | in[5]) != archive_version()) {
    throw_decode_failed(type_name, "written by another Boost archive version");
  }
  if (in[6] != platform_flags()) throw_decode_failed(type_name, "written on another platform (endianness/word size)");
  if (get_u64(in + 8) != type_hash) {
    throw Error(ErrorCode::type_mismatch,
                "payload holds another type than the requested " + readable(type_name));
  }
  if (get_u64(in + 16) != payload.size() - envelope_size) throw_decode_failed(type_name, "length field is wrong");
  return {reinterpret_cast<const char*>(in + envelope_size), payload.size() - envelope_size};
}

OutputBuffer::OutputBuffer() : buffer_(envelope_size + 256) {
  setp(buffer_.data() + envelope_size, buffer_.data() + buffer_.size());
}

void OutputBuffer::grow(std::size_t at_least) {
  const auto used = static_cast<std::size_t>(pptr() - buffer_.data());
  buffer_.resize(std::max(buffer_.size() * 2, used + at_least));
  setp(buffer_.data() + used, buffer_.data() + buffer_.size());
}

OutputBuffer::int_type OutputBuffer::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  grow(1);
  *pptr() = traits_type::to_char_type(ch);
  pbump(1);
  return ch;
}

std::streamsize OutputBuffer::xsputn(const char* data, std::streamsize count) {
  const auto size = static_cast<std::size_t>(count);
  if (static_cast<std::size_t>(epptr() - pptr()) < size) grow(size);
  std::memcpy(pptr(), data, size);
  pbump(static_cast<int>(count));
  return count;
}

std::vector<char> OutputBuffer::finish(std::uint64_t type_hash) {
  const auto used = static_cast<std::size_t>(pptr() - buffer_.data());
  buffer_.resize(used);
  write_envelope(buffer_.data(), type_hash, used - envelope_size);
  setp(nullptr, nullptr);
  return std::move(buffer_);
}

InputBuffer::InputBuffer(std::span<const char> bytes) {
  char* begin = const_cast<char*>(bytes.data());  // never written: this buffer has no put area
  setg(begin, begin, begin + bytes.size());
}

std::size_t InputBuffer::remaining() const noexcept { return static_cast<std::size_t>(egptr() - gptr()); }

}  // namespace zrelay::detail
