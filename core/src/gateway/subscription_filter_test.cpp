#include "gateway/subscription_filter.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

using plugin::Json;

/// The parse error's message, or "(parsed)" when the filter was accepted.
std::string parseError(const Json& spec) {
  try {
    SubscriptionFilter::parse(spec);
    return "(parsed)";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

Json manyValues(std::size_t count) {
  auto values = Json::array();
  for (std::size_t i = 0; i < count; ++i) values.push_back("m-" + std::to_string(i));
  return values;
}

Json manyFields(std::size_t count) {
  auto fields = Json::object();
  for (std::size_t i = 0; i < count; ++i) fields["f" + std::to_string(i)] = 1;
  return fields;
}

SubscriptionFilter parsed(const char* spec) {
  return SubscriptionFilter::parse(Json::parse(spec));
}

TEST(SubscriptionFilter, ParseErrorsNameTheBadPart) {
  struct Case {
    const char* name;
    Json spec;
    std::vector<std::string> mentions;
  };
  const Case cases[] = {
      {"array", Json::parse("[]"), {"filter", "object"}},
      {"string", Json("event_types"), {"filter", "object"}},
      {"null", Json(nullptr), {"filter", "object"}},
      {"number", Json(5), {"filter", "object"}},
      {"unknown key", Json::parse(R"({"types":["A"]})"), {"'types'"}},
      {"unknown key beside good ones", Json::parse(R"({"event_types":["A"],"limit":5})"), {"'limit'"}},
      {"empty event_types", Json::parse(R"({"event_types":[]})"), {"event_types"}},
      {"event_types as a string", Json::parse(R"({"event_types":"A"})"), {"event_types"}},
      {"event_types with a number", Json::parse(R"({"event_types":["A",1]})"), {"event_types"}},
      {"event_types with null", Json::parse(R"({"event_types":[null]})"), {"event_types"}},
      {"event_types over 256", Json{{"event_types", manyValues(257)}}, {"event_types", "256"}},
      {"fields as a list", Json::parse(R"({"fields":["meter_id"]})"), {"filter.fields"}},
      {"fields value null", Json::parse(R"({"fields":{"meter_id":null}})"), {"filter.fields.meter_id"}},
      {"fields value object", Json::parse(R"({"fields":{"meter_id":{"eq":"m-1"}}})"), {"filter.fields.meter_id"}},
      {"fields list with null", Json::parse(R"({"fields":{"meter_id":["m-1",null]}})"), {"filter.fields.meter_id"}},
      {"fields list with a list", Json::parse(R"({"fields":{"meter_id":[["m-1"]]}})"), {"filter.fields.meter_id"}},
      {"fields list with an object", Json::parse(R"({"fields":{"meter_id":[{}]}})"), {"filter.fields.meter_id"}},
      {"fields empty list", Json::parse(R"({"fields":{"meter_id":[]}})"), {"filter.fields.meter_id"}},
      {"fields over 256 values", Json{{"fields", {{"meter_id", manyValues(257)}}}}, {"filter.fields.meter_id", "256"}},
      {"fields empty path segment", Json::parse(R"({"fields":{"owner..region":"n"}})"), {"owner..region"}},
      {"fields trailing dot", Json::parse(R"({"fields":{"owner.":"n"}})"), {"owner."}},
      {"fields empty name", Json::parse(R"({"fields":{"":"n"}})"), {"filter field"}},
      {"33 fields", Json{{"fields", manyFields(33)}}, {"32 conditions"}},
      {"33 conditions of every kind",
       Json{{"event_types", Json::array({"A"})},
            {"fields", manyFields(16)},
            {"min", manyFields(8)},
            {"max", manyFields(8)}},
       {"32 conditions"}},
      {"min not an object", Json::parse(R"({"min":1000})"), {"filter.min"}},
      {"max not an object", Json::parse(R"({"max":[1]})"), {"filter.max"}},
      {"min as a string", Json::parse(R"({"min":{"amount":"1000"}})"), {"filter.min.amount", "number"}},
      {"min null", Json::parse(R"({"min":{"amount":null}})"), {"filter.min.amount", "number"}},
      {"max boolean", Json::parse(R"({"max":{"amount":true}})"), {"filter.max.amount", "number"}},
      {"min empty path segment", Json::parse(R"({"min":{".amount":1}})"), {".amount"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto message = parseError(c.spec);
    ASSERT_NE(message, "(parsed)");
    for (const auto& part : c.mentions)
      EXPECT_NE(message.find(part), std::string::npos) << message << " lacks " << part;
  }
}

TEST(SubscriptionFilter, AcceptsTheLimitsExactly) {
  EXPECT_EQ(parseError(Json{{"fields", manyFields(32)}}), "(parsed)");
  EXPECT_EQ(parseError(Json{{"fields", {{"meter_id", manyValues(256)}}}}), "(parsed)");
  EXPECT_EQ(parseError(Json{{"event_types", manyValues(256)}}), "(parsed)");
  EXPECT_EQ(parseError(Json{{"event_types", Json::array({"A"})},
                            {"fields", manyFields(15)},
                            {"min", manyFields(8)},
                            {"max", manyFields(8)}}),
            "(parsed)");
  EXPECT_EQ(parseError(Json::object()), "(parsed)");
}

TEST(SubscriptionFilter, EmptyFilterMatchesEveryEvent) {
  const auto filter = parsed("{}");
  EXPECT_TRUE(filter.matches(Json::parse(R"({"type":"A"})")));
  EXPECT_TRUE(filter.matches(Json::object()));
  EXPECT_TRUE(filter.matches(Json(5)));
}

struct MatchCase {
  const char* data;
  bool matches;
};

void expectMatches(const char* spec, std::initializer_list<MatchCase> cases) {
  const auto filter = parsed(spec);
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(spec) + " on " + c.data);
    EXPECT_EQ(filter.matches(Json::parse(c.data)), c.matches);
  }
}

TEST(SubscriptionFilter, MatchesEventTypes) {
  expectMatches(R"({"event_types":["TokensMinted","BatchMintingCompleted"]})",
                {
                    {R"({"type":"TokensMinted","amount":5})", true},
                    {R"({"type":"BatchMintingCompleted"})", true},
                    {R"({"type":"MeterReadingReceived"})", false},
                    {R"({"type":"tokensminted"})", false},
                    {R"({"type":1})", false},
                    {R"({"type":null})", false},
                    {R"({"kind":"TokensMinted"})", false},
                    {R"({})", false},
                    {R"(["TokensMinted"])", false},
                    {R"("TokensMinted")", false},
                });
}

TEST(SubscriptionFilter, MatchesFieldEquality) {
  expectMatches(R"({"fields":{"meter_id":"m-1"}})", {
                                                        {R"({"meter_id":"m-1"})", true},
                                                        {R"({"meter_id":"m-1","other":2})", true},
                                                        {R"({"meter_id":"m-2"})", false},
                                                        {R"({"meter_id":"M-1"})", false},
                                                        {R"({"meter_id":["m-1"]})", false},
                                                        {R"({"meter":"m-1"})", false},
                                                    });
  expectMatches(R"({"fields":{"final":true}})", {
                                                    {R"({"final":true})", true},
                                                    {R"({"final":false})", false},
                                                    {R"({"final":1})", false},
                                                    {R"({"final":"true"})", false},
                                                });
}

TEST(SubscriptionFilter, MatchesFieldMembership) {
  expectMatches(R"({"fields":{"meter_id":["m-1","m-2",7]}})", {
                                                                  {R"({"meter_id":"m-1"})", true},
                                                                  {R"({"meter_id":"m-2"})", true},
                                                                  {R"({"meter_id":7})", true},
                                                                  {R"({"meter_id":"m-3"})", false},
                                                                  {R"({"meter_id":"7"})", false},
                                                                  {R"({"meter_id":null})", false},
                                                              });
}

TEST(SubscriptionFilter, FollowsDottedPathsIntoObjects) {
  expectMatches(R"({"fields":{"owner.region":"north"}})", {
                                                              {R"({"owner":{"region":"north"}})", true},
                                                              {R"({"owner":{"region":"south"}})", false},
                                                              {R"({"owner":"north"})", false},
                                                              {R"({"owner":{"name":"north"}})", false},
                                                              {R"({"region":"north"})", false},
                                                              {R"({"owner":[{"region":"north"}]})", false},
                                                          });
  expectMatches(R"({"fields":{"a.b.c":1},"min":{"x.y":10}})", {
                                                                  {R"({"a":{"b":{"c":1}},"x":{"y":10}})", true},
                                                                  {R"({"a":{"b":{"c":2}},"x":{"y":10}})", false},
                                                                  {R"({"a":{"b":{"c":1}},"x":{"y":9}})", false},
                                                                  {R"({"a":{"b":{"c":1}}})", false},
                                                              });
}

TEST(SubscriptionFilter, ComparesIntegersAndFloatsByValue) {
  expectMatches(R"({"fields":{"amount":5}})", {
                                                  {R"({"amount":5})", true},
                                                  {R"({"amount":5.0})", true},
                                                  {R"({"amount":-5})", false},
                                                  {R"({"amount":5.5})", false},
                                                  {R"({"amount":"5"})", false},
                                              });
  expectMatches(R"({"fields":{"amount":5.0}})", {
                                                    {R"({"amount":5})", true},
                                                    {R"({"amount":5.0})", true},
                                                    {R"({"amount":6})", false},
                                                });
  expectMatches(R"({"fields":{"delta":-3}})", {
                                                  {R"({"delta":-3})", true},
                                                  {R"({"delta":-3.0})", true},
                                                  {R"({"delta":3})", false},
                                              });
  expectMatches(R"({"fields":{"amount":[1,2.5]}})", {
                                                        {R"({"amount":1.0})", true},
                                                        {R"({"amount":2.5})", true},
                                                        {R"({"amount":2})", false},
                                                    });
}

TEST(SubscriptionFilter, AppliesMinAndMaxAsInclusiveBounds) {
  expectMatches(R"({"min":{"amount":1000},"max":{"amount":5000}})", {
                                                                        {R"({"amount":999})", false},
                                                                        {R"({"amount":999.999})", false},
                                                                        {R"({"amount":1000})", true},
                                                                        {R"({"amount":1000.0})", true},
                                                                        {R"({"amount":3000})", true},
                                                                        {R"({"amount":5000})", true},
                                                                        {R"({"amount":5000.0})", true},
                                                                        {R"({"amount":5000.001})", false},
                                                                        {R"({"amount":5001})", false},
                                                                        {R"({"amount":-2000})", false},
                                                                        {R"({"amount":"3000"})", false},
                                                                        {R"({"amount":null})", false},
                                                                        {R"({"amount":true})", false},
                                                                        {R"({})", false},
                                                                    });
  expectMatches(R"({"min":{"amount":0.5}})", {
                                                 {R"({"amount":0.5})", true},
                                                 {R"({"amount":1})", true},
                                                 {R"({"amount":0})", false},
                                             });
  expectMatches(R"({"max":{"t":-1}})", {
                                           {R"({"t":-1})", true},
                                           {R"({"t":-2})", true},
                                           {R"({"t":0})", false},
                                       });
}

TEST(SubscriptionFilter, FailsWhenAFilteredFieldIsMissing) {
  EXPECT_FALSE(parsed(R"({"fields":{"meter_id":"m-1"}})").matches(Json::parse(R"({"amount":1})")));
  EXPECT_FALSE(parsed(R"({"fields":{"a.b":"x"}})").matches(Json::parse(R"({"a":{}})")));
  EXPECT_FALSE(parsed(R"({"min":{"amount":0}})").matches(Json::parse(R"({"meter_id":"m-1"})")));
  EXPECT_FALSE(parsed(R"({"max":{"amount":0}})").matches(Json::parse(R"({"meter_id":"m-1"})")));
  EXPECT_FALSE(parsed(R"({"event_types":["A"]})").matches(Json::parse(R"({"amount":1})")));
  EXPECT_FALSE(parsed(R"({"fields":{"meter_id":"m-1"}})").matches(Json(nullptr)));
}

TEST(SubscriptionFilter, RequiresEveryConditionToHold) {
  expectMatches(R"({"event_types":["TokensMinted"],
                    "fields":{"meter_id":["m-1","m-2"],"owner.region":"north"},
                    "min":{"amount":1000},"max":{"amount":5000}})",
                {
                    {R"({"type":"TokensMinted","meter_id":"m-2","owner":{"region":"north"},"amount":2000})", true},
                    {R"({"type":"Other","meter_id":"m-2","owner":{"region":"north"},"amount":2000})", false},
                    {R"({"type":"TokensMinted","meter_id":"m-9","owner":{"region":"north"},"amount":2000})", false},
                    {R"({"type":"TokensMinted","meter_id":"m-2","owner":{"region":"south"},"amount":2000})", false},
                    {R"({"type":"TokensMinted","meter_id":"m-2","owner":{"region":"north"},"amount":999})", false},
                    {R"({"type":"TokensMinted","meter_id":"m-2","owner":{"region":"north"},"amount":5001})", false},
                    {R"({"type":"TokensMinted","meter_id":"m-2","amount":2000})", false},
                });
}

TEST(SubscriptionFilter, TheMetersFilterHoldsForEventsWithoutAMeterId) {
  expectMatches(
      R"({"event_types":["TokensMinted","BatchMintingCompleted","MeterReadingReceived"],"meters":["m-1","m-2"]})",
      {
          {R"({"type":"MeterReadingReceived","meter_id":"m-1","kwh_amount":2})", true},
          {R"({"type":"MeterReadingReceived","meter_id":"m-9","kwh_amount":2})", false},
          {R"({"type":"TokensMinted","meter_id":null,"kwh_amount":7})", true},
          {R"({"type":"TokensMinted","meter_id":"m-3","kwh_amount":7})", false},
          {R"({"type":"BatchMintingCompleted","batch_id":"4","total_readings":10})", true},
          {R"({"type":"MeterReadingValidationFailed","meter_id":"m-1"})", false},  // not a listed type
      });
}

TEST(SubscriptionFilter, MinAmountHoldsForEventsWithoutAnAmount) {
  expectMatches(R"({"event_types":["TokensMinted","BatchMintingCompleted","MeterReadingReceived"],"min_amount":2.5})",
                {
                    {R"({"type":"MeterReadingReceived","meter_id":"m-1","kwh_amount":2.5})", true},
                    {R"({"type":"MeterReadingReceived","meter_id":"m-1","kwh_amount":2.4})", false},
                    {R"({"type":"TokensMinted","meter_id":null,"kwh_amount":100})", true},
                    {R"({"type":"BatchMintingCompleted","batch_id":"4"})", true},
                });
}

TEST(SubscriptionFilter, AMeterFilterRefusesAnEventTypeItDoesNotKnowByName) {
  for (const char* spec :
       {R"({"event_types":["TokensMinted","TokenMinted"]})", R"({"event_types":["PriceTick"],"meters":["m-1"]})",
        R"({"event_types":["Bogus"],"min_amount":1})"}) {
    const auto message = parseError(Json::parse(spec));
    EXPECT_NE(message.find("unknown event type"), std::string::npos) << spec << ": " << message;
    EXPECT_NE(message.find("MeterReadingReceived"), std::string::npos) << message;
  }
  EXPECT_NE(parseError(Json::parse(R"({"meters":"m-1"})")).find("filter.meters"), std::string::npos);
  EXPECT_NE(parseError(Json::parse(R"({"meters":[1]})")).find("filter.meters"), std::string::npos);
  EXPECT_NE(parseError(Json::parse(R"({"min_amount":"5"})")).find("filter.min_amount"), std::string::npos);
}

TEST(SubscriptionFilter, OtherTopicsFiltersKeepTheirMeaning) {
  // Types that are not the meter's stay free, and a missing field still fails fields/min/max.
  EXPECT_EQ(parseError(Json::parse(R"({"event_types":["PriceTick"]})")), "(parsed)");
  expectMatches(R"({"event_types":["PriceTick"],"fields":{"symbol":"kWh"},"min":{"price":1}})",
                {
                    {R"({"type":"PriceTick","symbol":"kWh","price":2})", true},
                    {R"({"type":"PriceTick","price":2})", false},
                    {R"({"type":"PriceTick","symbol":"kWh"})", false},
                });
}

}  // namespace
}  // namespace eventnode::core
