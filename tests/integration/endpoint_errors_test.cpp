// What an endpoint reports when something is refused or wrong: clear errors, never a hang.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "tests/support/relay_fixture.hpp"

namespace zrelay {
namespace {

using namespace std::chrono_literals;

class EndpointErrors : public testing::RelayFixture {};

ErrorCode code_of_constructing(const EndpointOptions& options) {
  try {
    Endpoint endpoint(options);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

TEST_F(EndpointErrors, ZeroItemsToPopOrGetIsAnError) {
  auto e = endpoint({"g"});
  EXPECT_THROW((void)e->pop(0), Error);
  EXPECT_THROW((void)e->get_last(0), Error);
  try {
    (void)e->pop(0);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
  }
}

// tlspyo's send_object sends to every destination or to none.
TEST_F(EndpointErrors, SendObjectChecksEveryDestinationBeforeSendingAny) {
  auto listener = endpoint({"a"});
  auto sender = endpoint();
  EXPECT_THROW((void)sender->send_object(std::string("half"), {{"a", -1}, {"b", 0}}), Error);
  EXPECT_THROW((void)sender->send_object(std::string("none"), {}), Error);
  sender->sync();
  listener->sync();
  EXPECT_TRUE(listener->receive_all(no_wait).empty()) << "the broadcast to 'a' went before 'b' was refused";
  const auto seqs = sender->send_object(std::string("whole"), {{"a", -1}, {"b", 2}});
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_NE(seqs[0], seqs[1]);
  const auto got = listener->pop(1, 10s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].as<std::string>(), "whole");
}

TEST_F(EndpointErrors, AStringLiteralTravelsAsAString) {
  auto listener = endpoint({"g"});
  auto sender = endpoint();
  (void)sender->broadcast("literal", "g");
  const char* pointer = "pointer";
  (void)sender->produce(pointer, "g");
  listener->notify("g");
  std::vector<Message> got;
  while (got.size() < 2) {
    auto more = listener->pop(2, 10s);
    ASSERT_FALSE(more.empty());
    for (auto& m : more) got.push_back(std::move(m));
  }
  EXPECT_EQ(got[0].as<std::string>(), "literal");
  EXPECT_EQ(got[1].as<std::string>(), "pointer");
}

TEST_F(EndpointErrors, UnknownKeyIsNotAuthorizedAndGetsNothingThrough) {
  auto listener = endpoint({"g"});
  auto options = options_for({"g"}, Certificate::generate());
  options.connect_timeout = 20s;  // the refusal must come from the handshake, not from this timeout
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of_constructing(options), ErrorCode::not_authorized);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  EXPECT_GE(broker->denied_count(), 1u);
  listener->sync();
  EXPECT_TRUE(listener->receive_all(no_wait).empty());
}

TEST_F(EndpointErrors, WrongBrokerKeyTimesOutWithAHint) {
  auto options = options_for({}, client_key);
  options.broker_public_key = Certificate::generate().public_key();
  options.connect_timeout = 1500ms;
  try {
    Endpoint endpoint(options);
    FAIL() << "a broker with another key must not be trusted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::timeout);
    EXPECT_NE(std::string(e.what()).find("broker_public_key"), std::string::npos);
  }
}

TEST_F(EndpointErrors, NoBrokerTimesOut) {
  auto options = options_for({}, client_key);
  broker->stop();
  options.connect_timeout = 500ms;
  EXPECT_EQ(code_of_constructing(options), ErrorCode::timeout);
}

TEST_F(EndpointErrors, MissingKeysAreConfigurationErrors) {
  auto options = options_for({}, client_key);
  options.certificate = Certificate::from_keys(client_key.public_key());
  EXPECT_EQ(code_of_constructing(options), ErrorCode::certificate);
  options = options_for({}, client_key);
  options.broker_public_key.clear();
  EXPECT_EQ(code_of_constructing(options), ErrorCode::configuration);
  options = options_for({"bad\ngroup"}, client_key);
  EXPECT_EQ(code_of_constructing(options), ErrorCode::invalid_argument);
}

TEST_F(EndpointErrors, BadBrokerAddressIsAConfigurationError) {
  for (const char* address : {"tcp://127.0.0.1", "127.0.0.1:5555", "nonsense://x"}) {
    auto options = options_for({}, client_key);
    options.broker = address;
    EXPECT_EQ(code_of_constructing(options), ErrorCode::configuration) << address;
  }
}

TEST_F(EndpointErrors, SyncForeverWaitsForTheAnswer) {
  auto e = endpoint({"g"});
  e->broadcast(1, "g");
  e->sync(forever);
  EXPECT_EQ(e->pop(1, no_wait).size(), 1u);
}

TEST_F(EndpointErrors, OversizedObjectIsRefusedBeforeSending) {
  BrokerLimits limits;
  limits.max_message_size = 1024;
  start_broker(limits);
  auto sender = endpoint();
  EXPECT_EQ(sender->max_message_size(), 1024u);
  try {
    sender->produce(std::vector<char>(4096), "g");
    FAIL() << "expected too_large";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::too_large);
  }
  sender->produce(std::vector<char>(100), "g");  // the endpoint still works
  sender->sync();
  EXPECT_TRUE(sender->take_refusals().empty());
}

TEST_F(EndpointErrors, APayloadOfExactlyTheLimitGoesThroughWithItsFields) {
  BrokerLimits limits;
  limits.max_message_size = 1024;  // small payloads travel inside the header frame, with the fields
  start_broker(limits);
  auto consumer = endpoint({"g"});
  consumer->notify("g", 1);
  consumer->sync();
  auto sender = endpoint();
  (void)sender->produce_raw(std::string(1024, 'x'), "g");
  const auto got = consumer->pop(1, 10s);
  ASSERT_EQ(got.size(), 1u) << "the broker must not drop a connection for a frame of fields + 1024 bytes";
  EXPECT_EQ(got[0].size(), 1024u);
  EXPECT_EQ(sender->connection_state(), ConnectionState::connected);
}

TEST_F(EndpointErrors, FullQueueRefusalReachesTheProducerWithItsSeq) {
  BrokerLimits limits;
  limits.default_group.max_consumables = 3;
  start_broker(limits);
  auto producer = endpoint();
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 5; ++i) seqs.push_back(producer->produce(i, "work"));
  producer->sync();
  const auto refusals = producer->take_refusals();
  ASSERT_EQ(refusals.size(), 2u);
  EXPECT_EQ(refusals[0].code, ErrorCode::queue_full);
  EXPECT_EQ(refusals[0].seq, seqs[3]);
  EXPECT_EQ(refusals[1].seq, seqs[4]);
  EXPECT_EQ(refusals[0].group, "work");
}

TEST_F(EndpointErrors, InvalidArgumentsThrowAtOnce) {
  auto e = endpoint({"g"});
  EXPECT_THROW(e->notify("g", 0), Error);
  EXPECT_THROW(e->produce(1, "g", 0), Error);
  EXPECT_THROW(e->produce(1, "g", 70000), Error);
  EXPECT_THROW(e->broadcast(1, ""), Error);
  e->notify("not-joined");
  e->sync();
  const auto refusals = e->take_refusals();
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0].code, ErrorCode::not_member);
}

TEST_F(EndpointErrors, UseAfterStopThrowsClosed) {
  auto e = endpoint({"g"});
  e->broadcast(1, "g");
  e->sync();
  e->stop();
  e->stop();  // idempotent
  EXPECT_EQ(e->pop(1, no_wait).size(), 1u) << "what arrived stays readable";
  try {
    e->broadcast(2, "g");
    FAIL() << "expected closed";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::closed);
  }
  EXPECT_THROW((void)e->pop(1, forever), Error) << "no hang on a stopped endpoint";
}

TEST_F(EndpointErrors, LostBrokerWithoutReconnectionFailsTheEndpointInsteadOfHanging) {
  auto options = options_for({"g"}, client_key);
  options.reconnect.enabled = false;
  Endpoint e(options);
  broker->stop();
  EXPECT_THROW((void)e.pop(1, forever), Error);
  EXPECT_EQ(e.connection_state(), ConnectionState::failed);
}

TEST_F(EndpointErrors, LostBrokerMakesTheEndpointReconnectAndGiveUpAfterMaxAttempts) {
  auto options = options_for({"g"}, client_key);
  options.reconnect.initial_delay = std::chrono::milliseconds(10);
  options.reconnect.max_attempts = 2;
  Endpoint e(options);
  broker->stop();
  EXPECT_TRUE(e.wait_for_connection_state(ConnectionState::failed, std::chrono::seconds(30)));
  std::vector<ConnectionState> states;
  for (const auto& event : e.take_connection_events()) states.push_back(event.state);
  ASSERT_GE(states.size(), 3u);
  EXPECT_EQ(states.front(), ConnectionState::connected);
  EXPECT_EQ(states[1], ConnectionState::reconnecting);
  EXPECT_EQ(states.back(), ConnectionState::failed);
  try {
    (void)e.pop(1, forever);
    ADD_FAILURE() << "pop after the endpoint failed must throw";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::connection_failed);
    EXPECT_NE(std::string(error.what()).find("2 attempts"), std::string::npos) << error.what();
  }
}

TEST_F(EndpointErrors, LargeObjectsCrossTheBroker) {
  auto sender = endpoint();
  auto receiver = endpoint({"weights"});
  std::vector<float> weights(16u << 20);  // 64 MiB of model weights
  for (std::size_t i = 0; i < weights.size(); i += 4096) weights[i] = static_cast<float>(i);
  sender->broadcast(weights, "weights");
  auto got = receive(*receiver, 1, 60s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].as<std::vector<float>>(), weights);
}

}  // namespace
}  // namespace zrelay
