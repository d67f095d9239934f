// readJson: the one reader of JSON from outside the process (plugin/json.hpp).
#include <eventnode/plugin/json.hpp>

#include <gtest/gtest.h>

#include <string>

namespace eventnode::plugin {
namespace {

std::string nestedArrays(std::size_t depth) {
  return std::string(depth, '[') + "1" + std::string(depth, ']');
}

std::string nestedObjects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) text += R"({"a":)";
  return text + "1" + std::string(depth, '}');
}

TEST(Unit, ReadJsonReadsAValueWithinTheLimits) {
  const auto read = readJson(R"({"topic":"t","data":[1,2.5,"x",null,true,{"k":[]}]})");
  ASSERT_TRUE(read.ok()) << read.error;
  EXPECT_EQ(read.value["data"][5]["k"], Json::array());
  EXPECT_EQ(read.value["data"][1], 2.5);
}

TEST(Unit, ReadJsonAcceptsTheDepthLimitAndRefusesOneLevelMore) {
  EXPECT_TRUE(readJson(nestedArrays(64)).ok());
  EXPECT_TRUE(readJson(nestedObjects(64)).ok());
  const auto arrays = readJson(nestedArrays(65));
  EXPECT_EQ(arrays.error, "JSON nested deeper than 64 levels");
  EXPECT_TRUE(arrays.value.is_null());
  EXPECT_EQ(readJson(nestedObjects(65)).error, "JSON nested deeper than 64 levels");
  EXPECT_EQ(readJson(nestedArrays(3), {.max_depth = 2}).error, "JSON nested deeper than 2 levels");
}

TEST(Unit, ReadJsonRefusesAHundredThousandLevelsWithoutRecursing) {
  // The body that crashed the node: a walk over it overflowed the stack.
  for (const auto& text : {nestedArrays(100'000), nestedObjects(100'000), std::string(100'000, '[')}) {
    const auto read = readJson(text);
    EXPECT_EQ(read.error, "JSON nested deeper than 64 levels");
  }
}

TEST(Unit, ReadJsonRefusesTextOverTheSizeLimitBeforeParsing) {
  const auto read = readJson("[1,2,3]", {.max_bytes = 6});
  EXPECT_EQ(read.error, "JSON text of 7 bytes is over the limit of 6");
  EXPECT_TRUE(readJson("[1,2,3]", {.max_bytes = 7}).ok());
}

TEST(Unit, ReadJsonCountsEveryScalarArrayObjectAndKeyAgainstTheValueLimit) {
  struct Case {
    const char* text;
    std::size_t values;
  };
  const Case cases[] = {
      {R"("x")", 1},
      {"[]", 1},
      {"[0,0,0]", 4},
      {R"([null,true,1.5,-1,18446744073709551615,"s"])", 7},
      {"[[],{},[[]]]", 5},
      {R"({"a":0,"b":{}})", 5},
      {R"({"a":{"b":{"c":[]}}})", 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_TRUE(readJson(c.text, {.max_values = c.values}).ok());
    const auto read = readJson(c.text, {.max_values = c.values - 1});
    EXPECT_EQ(read.error, "JSON holds more than " + std::to_string(c.values - 1) + " values");
    EXPECT_TRUE(read.value.is_null());
  }
}

TEST(Unit, ReadJsonTakesHalfAMillionValuesByDefaultAndStopsAtTheNext) {
  // A flat array of zeros: the array counts one, each zero one.
  const auto zeros = [](std::size_t count) {
    std::string text = "[";
    for (std::size_t i = 0; i < count; ++i) text += "0,";
    text.back() = ']';
    return text;
  };
  const auto accepted = readJson(zeros(499'999));
  ASSERT_TRUE(accepted.ok()) << accepted.error;
  EXPECT_EQ(accepted.value.size(), 499'999u);
  EXPECT_EQ(readJson(zeros(500'000)).error, "JSON holds more than 500000 values");
}

TEST(Unit, ReadJsonStopsSixteenMegabytesOfEmptyObjectsAtTheValueLimit) {
  // The body of the report: `[{},{},...]` of 16 MB grew the heap by some 500 MB.
  std::string text = "[";
  while (text.size() < JsonLimits{}.max_bytes - 3) text += "{},";
  text.back() = ']';
  const auto read = readJson(text);
  EXPECT_EQ(read.error, "JSON holds more than 500000 values");
  EXPECT_TRUE(read.value.is_null());
}

TEST(Unit, ReadJsonNamesTheByteWhereTheTextStopsBeingJson) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"", "not valid JSON at byte 1"},
      {"{not json", "not valid JSON at byte 3"},
      {R"({"a":)", "not valid JSON at byte 6"},
      {"{} x", "not valid JSON at byte 4"},
      {"[1,]", "not valid JSON at byte 4"},
      {"[NaN]", "not valid JSON at byte 2"},
      {"\"\xff\"", "not valid JSON at byte 2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto read = readJson(c.text);
    EXPECT_EQ(read.error, c.error);
    EXPECT_TRUE(read.value.is_null());
  }
}

}  // namespace
}  // namespace eventnode::plugin
