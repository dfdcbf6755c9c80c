// The embedded broker's log: to the application's sink at its level, or to standard error,
// never to standard output (which belongs to the application).
#include <mutex>
#include <vector>

#include <gtest/gtest.h>
#include <zrelay/broker.hpp>
#include <zrelay/endpoint.hpp>

namespace zrelay {
namespace {

struct Captured {
  std::mutex mutex;
  std::vector<std::pair<LogLevel, std::string>> lines;
  [[nodiscard]] bool has(LogLevel level, const std::string& part) {
    std::lock_guard lock(mutex);
    for (const auto& [l, text] : lines) {
      if (l == level && text.find(part) != std::string::npos) return true;
    }
    return false;
  }
  [[nodiscard]] std::size_t at_or_below(LogLevel level) {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& line : lines) n += line.first <= level ? 1 : 0;
    return n;
  }
};

class BrokerLog : public ::testing::Test {
 protected:
  // A broker logging at `level` (into `captured` unless it is null), and one session with it.
  void serve_one_session(LogLevel level, Captured* captured) {
    BrokerOptions options;
    options.bind = "tcp://127.0.0.1:*";
    options.certificate = broker_key;
    options.authorized_keys = {client_key};
    options.log_level = level;
    if (captured != nullptr) {
      options.log_sink = [captured](LogLevel l, std::string_view line) {
        std::lock_guard lock(captured->mutex);
        captured->lines.emplace_back(l, std::string(line));
      };
    }
    Broker broker(std::move(options));
    EndpointOptions endpoint;
    endpoint.broker = broker.endpoint();
    endpoint.broker_public_key = broker.public_key();
    endpoint.certificate = client_key;
    endpoint.name = "logged";
    Endpoint client(std::move(endpoint));
    client.stop();
    broker.stop();
  }

  Certificate broker_key = Certificate::generate();
  Certificate client_key = Certificate::generate();
};

TEST_F(BrokerLog, LinesGoToTheSinkWithTheirLevelAndWithoutStamps) {
  Captured captured;
  serve_one_session(LogLevel::info, &captured);
  EXPECT_TRUE(captured.has(LogLevel::info, "HELLO name 'logged'"));
  EXPECT_TRUE(captured.has(LogLevel::info, "session closed (BYE)"));
  EXPECT_TRUE(captured.has(LogLevel::info, "stopping: telling"));
  std::lock_guard lock(captured.mutex);
  for (const auto& [level, line] : captured.lines) {
    EXPECT_NE(line.front(), '[') << "a bare line, no time stamp: " << line;
    EXPECT_NE(line.back(), '\n') << line;
  }
}

TEST_F(BrokerLog, TheLevelFiltersWhatReachesTheSink) {
  Captured captured;
  serve_one_session(LogLevel::warning, &captured);
  EXPECT_EQ(captured.at_or_below(LogLevel::info), 0u);
}

TEST_F(BrokerLog, WithoutASinkLinesGoToStandardErrorNotStandardOutput) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  serve_one_session(LogLevel::info, nullptr);
  const std::string out = ::testing::internal::GetCapturedStdout();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("authenticated"), std::string::npos) << out;
  EXPECT_NE(err.find("HELLO name 'logged'"), std::string::npos) << err;
}

}  // namespace
}  // namespace zrelay
