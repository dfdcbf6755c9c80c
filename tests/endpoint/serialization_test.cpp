#include <zrelay/message.hpp>
#include <zrelay/serialization.hpp>

#include <gtest/gtest.h>

#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

namespace zrelay {
namespace {

struct Sample {
  int step = 0;
  std::string name;
  std::vector<float> observation;
  std::map<std::string, double> info;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & step & name & observation & info;
  }
  bool operator==(const Sample&) const = default;
};

std::span<const std::byte> as_bytes(const std::vector<char>& payload) {
  return {reinterpret_cast<const std::byte*>(payload.data()), payload.size()};
}

ErrorCode decode_error(const std::vector<char>& payload) {
  try {
    (void)deserialize<Sample>(as_bytes(payload));
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

Sample sample() { return Sample{3, "episode", {0.5f, -1.0f, 2.25f}, {{"reward", 1.5}}}; }

TEST(Serialization, CustomStructRoundTrips) {
  const auto payload = serialize(sample());
  EXPECT_EQ(deserialize<Sample>(as_bytes(payload)), sample());
}

TEST(Serialization, LargeVectorRoundTrips) {
  std::vector<float> weights(1 << 20);
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i) * 0.25f;
  const auto payload = serialize(weights);
  EXPECT_GE(payload.size(), weights.size() * sizeof(float));
  EXPECT_EQ(deserialize<std::vector<float>>(as_bytes(payload)), weights);
}

TEST(Serialization, StringsRoundTrip) {
  const std::string text = "I HAVE BEEN BROADCAST";
  EXPECT_EQ(deserialize<std::string>(as_bytes(serialize(text))), text);
}

TEST(Serialization, WrongTypeIsATypeMismatch) {
  const auto payload = serialize(std::string("not a sample"));
  EXPECT_EQ(decode_error(payload), ErrorCode::type_mismatch);
}

TEST(Serialization, ErrorsNameTypesAsTheyAreWritten) {
  const std::vector<char> payload = serialize(1.5f);
  try {
    (void)deserialize<std::string>(std::as_bytes(std::span(payload)));
    FAIL() << "a float read as a string";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("std::__cxx11::basic_string<char"), std::string::npos) << what;
    EXPECT_EQ(what.find("NSt7__cxx11"), std::string::npos) << "a mangled name: " << what;
  }
}

TEST(Serialization, RawBytesAreNotAnObject) {
  const std::string raw = "just some bytes that are long enough to hold an envelope";
  EXPECT_EQ(decode_error(std::vector<char>(raw.begin(), raw.end())), ErrorCode::decode_failed);
  EXPECT_EQ(decode_error({}), ErrorCode::decode_failed);
}

TEST(Serialization, TruncatedOrExtendedPayloadFails) {
  auto payload = serialize(sample());
  auto truncated = payload;
  truncated.resize(truncated.size() - 3);
  EXPECT_EQ(decode_error(truncated), ErrorCode::decode_failed);
  auto extended = payload;
  extended.push_back('x');
  EXPECT_EQ(decode_error(extended), ErrorCode::decode_failed);
}

TEST(Serialization, CorruptArchiveWithConsistentLengthFails) {
  auto payload = serialize(sample());
  // Overwrite the string length inside the archive with a huge value; the envelope still fits.
  for (std::size_t i = detail::envelope_size + 4; i < detail::envelope_size + 12; ++i) payload[i] = '\xff';
  EXPECT_EQ(decode_error(payload), ErrorCode::decode_failed);
}

TEST(Serialization, EveryTruncationOfAnArchiveBodyFailsCleanly) {
  const auto payload = serialize(sample());
  for (std::size_t cut = 0; cut < payload.size(); ++cut) {
    std::vector<char> broken(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(cut));
    if (broken.size() >= detail::envelope_size) {
      detail::write_envelope(broken.data(), detail::fnv1a(type_tag<Sample>::name()), cut - detail::envelope_size);
    }
    EXPECT_EQ(decode_error(broken), ErrorCode::decode_failed) << "cut at " << cut;
  }
}

TEST(Serialization, MessageAsDecodesItsPayload) {
  auto payload = serialize(sample());
  Message message("g", Kind::produced, 1, zmq::message_t(payload.data(), payload.size()));
  EXPECT_EQ(message.as<Sample>(), sample());
  EXPECT_THROW((void)message.as<std::string>(), Error);
}

}  // namespace
}  // namespace zrelay
