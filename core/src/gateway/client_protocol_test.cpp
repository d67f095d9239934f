#include "gateway/client_protocol.hpp"

#include "gateway/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

using plugin::Json;
using Kind = ClientRequest::Kind;

TEST(ClientProtocol, ParsesGoodMessages) {
  struct Case {
    std::string text;
    Kind kind;
    std::string topic;
    std::optional<std::uint64_t> since;
    std::string epoch;
    bool has_filter;
  };
  const auto kMaxOffset = std::numeric_limits<std::uint64_t>::max();
  const Case cases[] = {
      {R"({"type":"ping"})", Kind::Ping, "", std::nullopt, "", false},
      {R"({"type":"ping","data":"ignored","id":7})", Kind::Ping, "", std::nullopt, "", false},
      {R"({"type":"subscribe","data":{"topic":"prices"}})", Kind::Subscribe, "prices", std::nullopt, "", false},
      {R"( { "data" : { "topic" : "user:alice" } , "type" : "subscribe" } )", Kind::Subscribe, "user:alice",
       std::nullopt, "", false},
      {R"({"type":"subscribe","data":{"topic":"prices","since":0}})", Kind::Subscribe, "prices", 0, "", false},
      {R"({"type":"subscribe","data":{"topic":"prices","since":42,"epoch":"a1b2c3d4"}})", Kind::Subscribe, "prices", 42,
       "a1b2c3d4", false},
      {R"({"type":"subscribe","data":{"topic":"prices","since":18446744073709551615}})", Kind::Subscribe, "prices",
       kMaxOffset, "", false},
      {R"({"type":"subscribe","data":{"topic":"prices","since":null,"epoch":null,"filter":null}})", Kind::Subscribe,
       "prices", std::nullopt, "", false},
      {R"({"type":"subscribe","data":{"topic":"meter.readings","filter":{"event_types":["TokensMinted"],"min":{"amount":1}}}})",
       Kind::Subscribe, "meter.readings", std::nullopt, "", true},
      {R"({"type":"subscribe","data":{"topic":"p","epoch":""}})", Kind::Subscribe, "p", std::nullopt, "", false},
      {R"({"type":"unsubscribe","data":{"topic":"prices"}})", Kind::Unsubscribe, "prices", std::nullopt, "", false},
      // Unsubscribe looks at the topic only.
      {R"({"type":"unsubscribe","data":{"topic":"prices","since":-1,"filter":5}})", Kind::Unsubscribe, "prices",
       std::nullopt, "", false},
      {R"({"type":"subscribe","data":{"topic":")" + std::string(256, 't') + R"("}})", Kind::Subscribe,
       std::string(256, 't'), std::nullopt, "", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto result = parseClientMessage(c.text);
    ASSERT_TRUE(std::holds_alternative<ClientRequest>(result))
        << std::get<ProtocolError>(result).code << ": " << std::get<ProtocolError>(result).message;
    const auto& request = std::get<ClientRequest>(result);
    EXPECT_EQ(request.kind, c.kind);
    EXPECT_EQ(request.topic, c.topic);
    EXPECT_EQ(request.since, c.since);
    EXPECT_EQ(request.epoch, c.epoch);
    EXPECT_EQ(request.filter.has_value(), c.has_filter);
  }
}

TEST(ClientProtocol, ParsedFilterIsTheOneTheClientSent) {
  const auto result = parseClientMessage(
      R"({"type":"subscribe","data":{"topic":"m","filter":{"fields":{"meter_id":"m-1"},"min":{"amount":10}}}})");
  ASSERT_TRUE(std::holds_alternative<ClientRequest>(result));
  const auto& filter = std::get<ClientRequest>(result).filter;
  ASSERT_TRUE(filter.has_value());
  EXPECT_TRUE(filter->matches(Json::parse(R"({"meter_id":"m-1","amount":10})")));
  EXPECT_FALSE(filter->matches(Json::parse(R"({"meter_id":"m-1","amount":9})")));
  EXPECT_FALSE(filter->matches(Json::parse(R"({"meter_id":"m-2","amount":10})")));
}

TEST(ClientProtocol, RefusesBadMessagesWithACodeAndTheFieldName) {
  struct Case {
    std::string text;
    std::string code;
    std::string mentions;
  };
  const Case cases[] = {
      {"", "bad_json", "JSON"},
      {"not json", "bad_json", "JSON"},
      {R"({"type":"ping")", "bad_json", "JSON"},
      {R"({"type":"ping"} trailing)", "bad_json", "JSON"},
      {R"([{"type":"ping"}])", "bad_json", "object"},
      {R"("ping")", "bad_json", "object"},
      {"null", "bad_json", "object"},
      {"42", "bad_json", "object"},
      {"{\"type\":\"\xFF\"}", "bad_json", "JSON"},
      {"{}", "bad_request", "'type'"},
      {R"({"type":1})", "bad_request", "'type'"},
      {R"({"type":null})", "bad_request", "'type'"},
      {R"({"type":["ping"]})", "bad_request", "'type'"},
      {R"({"type":"publish","data":{"topic":"x"}})", "unknown_type", "'publish'"},
      {R"({"type":"Ping"})", "unknown_type", "'Ping'"},
      {R"({"type":""})", "unknown_type", "''"},
      {R"({"type":"subscribe"})", "bad_request", "'data'"},
      {R"({"type":"subscribe","data":null})", "bad_request", "'data'"},
      {R"({"type":"subscribe","data":"prices"})", "bad_request", "'data'"},
      {R"({"type":"subscribe","data":["prices"]})", "bad_request", "'data'"},
      {R"({"type":"unsubscribe"})", "bad_request", "'data'"},
      {R"({"type":"subscribe","data":{}})", "bad_request", "'data.topic'"},
      {R"({"type":"subscribe","data":{"topic":5}})", "bad_request", "'data.topic'"},
      {R"({"type":"subscribe","data":{"topic":null}})", "bad_request", "'data.topic'"},
      {R"({"type":"unsubscribe","data":{"name":"prices"}})", "bad_request", "'data.topic'"},
      {R"({"type":"subscribe","data":{"topic":""}})", "bad_topic", "topic"},
      {R"({"type":"subscribe","data":{"topic":"a b"}})", "bad_topic", "topic"},
      {R"({"type":"subscribe","data":{"topic":"prices.*"}})", "bad_topic", "topic"},
      {R"({"type":"subscribe","data":{"topic":"a,b"}})", "bad_topic", "topic"},
      {R"({"type":"subscribe","data":{"topic":"a\"b"}})", "bad_topic", "topic"},
      {R"({"type":"subscribe","data":{"topic":"caf\u00e9"}})", "bad_topic", "topic"},
      {R"({"type":"subscribe","data":{"topic":")" + std::string(257, 't') + R"("}})", "bad_topic", "topic"},
      {R"({"type":"unsubscribe","data":{"topic":"a b"}})", "bad_topic", "topic"},
      {R"({"type":"subscribe","data":{"topic":"p","since":-1}})", "bad_request", "'data.since'"},
      {R"({"type":"subscribe","data":{"topic":"p","since":1.5}})", "bad_request", "'data.since'"},
      {R"({"type":"subscribe","data":{"topic":"p","since":1.0}})", "bad_request", "'data.since'"},
      {R"({"type":"subscribe","data":{"topic":"p","since":"5"}})", "bad_request", "'data.since'"},
      {R"({"type":"subscribe","data":{"topic":"p","since":true}})", "bad_request", "'data.since'"},
      {R"({"type":"subscribe","data":{"topic":"p","since":[5]}})", "bad_request", "'data.since'"},
      {R"({"type":"subscribe","data":{"topic":"p","since":1e30}})", "bad_request", "'data.since'"},
      {R"({"type":"subscribe","data":{"topic":"p","epoch":5}})", "bad_request", "'data.epoch'"},
      {R"({"type":"subscribe","data":{"topic":"p","epoch":{}}})", "bad_request", "'data.epoch'"},
      {R"({"type":"subscribe","data":{"topic":"p","epoch":")" + std::string(65, 'e') + R"("}})", "bad_request",
       "'data.epoch'"},
      {R"({"type":"subscribe","data":{"topic":"p","filter":"x"}})", "bad_filter", "filter"},
      {R"({"type":"subscribe","data":{"topic":"p","filter":[]}})", "bad_filter", "filter"},
      {R"({"type":"subscribe","data":{"topic":"p","filter":{"event_types":[]}}})", "bad_filter", "event_types"},
      {R"({"type":"subscribe","data":{"topic":"p","filter":{"colour":"red"}}})", "bad_filter", "'colour'"},
      {R"({"type":"subscribe","data":{"topic":"p","filter":{"min":{"amount":"1"}}}})", "bad_filter",
       "filter.min.amount"},
      {R"({"type":"refresh"})", "bad_request", "'data'"},
      {R"({"type":"refresh","data":"eyJ"})", "bad_request", "'data'"},
      {R"({"type":"refresh","data":{}})", "bad_request", "'data.token'"},
      {R"({"type":"refresh","data":{"token":""}})", "bad_request", "'data.token'"},
      {R"({"type":"refresh","data":{"token":5}})", "bad_request", "'data.token'"},
      {R"({"type":"refresh","data":{"token":")" + std::string(8193, 't') + R"("}})", "bad_request", "8192 bytes"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto result = parseClientMessage(c.text);
    ASSERT_TRUE(std::holds_alternative<ProtocolError>(result));
    const auto& error = std::get<ProtocolError>(result);
    EXPECT_EQ(error.code, c.code) << error.message;
    EXPECT_NE(error.message.find(c.mentions), std::string::npos) << error.message;
  }
}

TEST(ClientProtocol, ParsesARefreshAndAnswersWithTheNewExpiry) {
  const auto result = parseClientMessage(R"({"type":"refresh","data":{"token":"a.b.c"}})");
  ASSERT_TRUE(std::holds_alternative<ClientRequest>(result));
  const auto& request = std::get<ClientRequest>(result);
  EXPECT_EQ(request.kind, ClientRequest::Kind::Refresh);
  EXPECT_EQ(request.token, "a.b.c");
  EXPECT_EQ(refreshedMessage(1767225600), R"({"expires_at":1767225600,"type":"refreshed"})");
  EXPECT_EQ(refreshedMessage(std::nullopt), R"({"expires_at":null,"type":"refreshed"})");
}

TEST(ClientProtocol, CutsAnUnknownTypeNameInTheErrorMessage) {
  const std::string name(1000, 'x');
  const auto result = parseClientMessage(R"({"type":")" + name + R"("})");
  ASSERT_TRUE(std::holds_alternative<ProtocolError>(result));
  const auto& error = std::get<ProtocolError>(result);
  EXPECT_EQ(error.code, "unknown_type");
  EXPECT_NE(error.message.find(std::string(64, 'x')), std::string::npos);
  EXPECT_EQ(error.message.find(std::string(65, 'x')), std::string::npos);
}

TEST(ClientProtocol, EventMessageIsValidJsonWithDataUnchanged) {
  const std::string data[] = {
      R"({"amount":1000,"meter_id":"m-1","nested":{"list":[1,2.5,true,null,"x"]}})",
      R"("just a string with \"quotes\" and \\ and \u00e9")",
      R"([])",
      R"(12345678901234567890)",
      R"({"text":"caf)"
      "\xC3\xA9"
      R"(","emoji":")"
      "\xF0\x9F\x98\x80"
      R"("})",
      R"({ "spaced" : [ 1 , 2 ] })",
  };
  const std::uint64_t offsets[] = {0, 1, 42, std::numeric_limits<std::uint64_t>::max()};
  for (const auto& d : data) {
    for (const auto offset : offsets) {
      SCOPED_TRACE(d + " at " + std::to_string(offset));
      const auto text = eventMessage("user:alice", offset, d);
      const auto message = Json::parse(text, nullptr, false);
      ASSERT_FALSE(message.is_discarded()) << text;
      EXPECT_EQ(message.size(), 4u);
      EXPECT_EQ(message["type"], "event");
      EXPECT_EQ(message["topic"], "user:alice");
      EXPECT_EQ(message["offset"].get<std::uint64_t>(), offset);
      EXPECT_EQ(message["data"], Json::parse(d));
      // Byte for byte: the serialized data is spliced in, not re-encoded.
      EXPECT_NE(text.find(R"("data":)" + d + "}"), std::string::npos) << text;
      EXPECT_TRUE(isValidUtf8(text));
    }
  }
}

TEST(ClientProtocol, ErrorMessageEscapesQuotesAndControlCharacters) {
  const std::string messages[] = {
      R"(field "data.topic" must be a string)",
      R"(back\slash and 'single' quotes)",
      "new\nline\ttab\x01",
      "caf\xC3\xA9",
      "",
  };
  for (const auto& m : messages) {
    SCOPED_TRACE(m);
    const auto text = errorMessage("bad_request", m);
    const auto message = Json::parse(text, nullptr, false);
    ASSERT_FALSE(message.is_discarded()) << text;
    EXPECT_EQ(message["type"], "error");
    EXPECT_EQ(message["code"], "bad_request");
    EXPECT_EQ(message["message"], m);
  }
  EXPECT_NE(errorMessage("c", R"(say "hi")").find(R"(say \"hi\")"), std::string::npos);
}

TEST(ClientProtocol, ErrorMessageReplacesInvalidUtf8) {
  struct Case {
    std::string input;
    std::string expected;
  };
  const Case cases[] = {
      {"bad \xFF byte", "bad \xEF\xBF\xBD byte"},
      {"cut \xE2\x82", "cut \xEF\xBF\xBD"},
      {"surrogate \xED\xA0\x80!", ""},  // only checked for validity below
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    const auto text = errorMessage("bad_request", c.input);
    EXPECT_TRUE(isValidUtf8(text)) << text;
    const auto message = Json::parse(text, nullptr, false);
    ASSERT_FALSE(message.is_discarded()) << text;
    EXPECT_EQ(message["code"], "bad_request");
    if (!c.expected.empty()) {
      EXPECT_EQ(message["message"], c.expected);
    }
  }
}

TEST(ClientProtocol, OtherRepliesAreValidJson) {
  const auto subscribed = Json::parse(subscribedMessage("prices", 7, "a1b2c3d4", true));
  EXPECT_EQ(
      subscribed,
      (Json{{"type", "subscribed"}, {"topic", "prices"}, {"offset", 7}, {"epoch", "a1b2c3d4"}, {"recovered", true}}));
  EXPECT_EQ(Json::parse(unsubscribedMessage("prices")), (Json{{"type", "unsubscribed"}, {"topic", "prices"}}));
  EXPECT_EQ(Json::parse(pongMessage()), (Json{{"type", "pong"}}));
  plugin::Identity alice{"alice", {"prosumer"}, true};
  const auto connected = Json::parse(connectedMessage(9, alice, "node-1", {"user:alice"}));
  EXPECT_EQ(connected["connection_id"], 9);
  EXPECT_EQ(connected["user"], "alice");
  EXPECT_EQ(connected["roles"], Json::array({"prosumer"}));
  EXPECT_EQ(connected["topics"], Json::array({"user:alice"}));
  const auto anonymous = Json::parse(connectedMessage(10, plugin::Identity{}, "node-1", {}));
  EXPECT_TRUE(anonymous["user"].is_null());
}

}  // namespace
}  // namespace eventnode::core
