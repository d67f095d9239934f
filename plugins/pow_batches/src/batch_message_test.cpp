#include "batch_message.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace eventnode::plugins::pow_batches {
namespace {

using plugin::Json;

constexpr std::size_t kMaxLength = 100;
/// SHA-256 of "generated\n" and the canonical text of kGeneratedBatch.
constexpr const char* kKnownHash = "c4f2cc52e9c42aab89868265af2359effdef4aac6adc133812bf2d444d662cf2";

const char* kGeneratedBatch =
    R"({"public_key":"pk-1","block_hash":"0xabc","block_height":10,"nonces":[1,2,3],"dist":[0.25,0.5,0.75],"node_id":1})";
const char* kValidatedBatch =
    R"({"public_key":"pk-1","block_hash":"0xabc","block_height":10,"nonces":[1,2,3],"dist":[0.25,0.5,0.75],"node_id":1,)"
    R"("received_dist":[0.25,0.5,0.7],"r_target":1.5,"fraud_threshold":0.01,"n_invalid":0,"probability_honest":0.99,)"
    R"("fraud_detected":false})";

std::string message(const std::string& type, const std::string& batch, const std::string& id = "\"m-1\"") {
  return R"({"type":")" + type + R"(","batch":)" + batch + R"(,"id":)" + id + "}";
}

/// What the worker answered before the one-pass reader: nlohmann, then validateBatch.
struct Reference {
  bool ok = false;
  std::string error;
  std::string id;
  Batch batch;
};
Reference refused(std::string why) {
  Reference reference;
  reference.error = std::move(why);
  return reference;
}
Reference referenceMessage(const std::string& text, std::size_t max_length) {
  const auto read = plugin::readJson(text);
  if (!read.ok()) return refused("not a JSON object: " + read.error);
  const auto& message = read.value;
  if (!message.is_object()) return refused("not a JSON object");
  const auto type = message.find("type");
  const auto id = message.find("id");
  if (type == message.end() || !type->is_string()) return refused("'type' must be generated or validated");
  if (id == message.end() || !id->is_string() || id->get_ref<const std::string&>().empty())
    return refused("'id' must be a non-empty string");
  const auto kind = parseKind(type->get_ref<const std::string&>());
  if (!kind) return refused("unknown type '" + type->get<std::string>().substr(0, 40) + "'");
  const auto batch = message.find("batch");
  if (batch == message.end()) return refused("'batch' is missing");
  auto validated = validateBatch(*kind, *batch, max_length);
  if (auto* error = std::get_if<BatchError>(&validated)) return refused(error->message);
  return {true, "", id->get<std::string>(), std::get<Batch>(std::move(validated))};
}

/// parseBatchMessage and the reference agree: same refusal, or same batch to the byte.
void expectSameAsReference(const std::string& text, std::size_t max_length = kMaxLength) {
  SCOPED_TRACE(text.substr(0, 300));
  const auto expected = referenceMessage(text, max_length);
  const auto actual = parseBatchMessage(text, max_length);
  if (!expected.ok) {
    ASSERT_TRUE(std::holds_alternative<ParseError>(actual)) << "accepted; the reference refused: " << expected.error;
    EXPECT_EQ(std::get<ParseError>(actual).message, expected.error);
    EXPECT_EQ(std::get<ParseError>(actual).bad_json, expected.error.rfind("not a JSON object", 0) == 0);
    return;
  }
  ASSERT_TRUE(std::holds_alternative<BatchMessage>(actual)) << std::get<ParseError>(actual).message;
  const auto& got = std::get<BatchMessage>(actual);
  EXPECT_EQ(got.id, expected.id);
  EXPECT_EQ(got.kind, expected.batch.kind);
  EXPECT_EQ(got.batch.kind, expected.batch.kind);
  EXPECT_EQ(got.batch.node_num, expected.batch.node_num);
  EXPECT_EQ(got.batch.canonical, expected.batch.canonical);
  EXPECT_EQ(got.batch.content_hash, expected.batch.content_hash);
}

TEST(Unit, OrdinaryMessagesTakeTheOnePassReaderAndMatchTheJsonPath) {
  for (const auto& text :
       {message("generated", kGeneratedBatch), message("validated", kValidatedBatch),
        message("generated", kValidatedBatch),
        R"( { "id" : "x" , "batch" : )" + std::string(kGeneratedBatch) + R"( , "type" : "generated" } )"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(fastParseBatchMessage(text, kMaxLength).has_value());
    expectSameAsReference(text);
  }
  EXPECT_TRUE(fastParseBatchBody(BatchKind::Generated, kGeneratedBatch, kMaxLength).has_value());
  EXPECT_TRUE(fastParseBatchBody(BatchKind::Validated, kValidatedBatch, kMaxLength).has_value());
}

TEST(Unit, NumberSpellingsGiveTheCanonicalTextOfTheJsonPath) {
  // Each spelling goes into dist (a float64) and, where it is an integer, into nonces.
  const std::vector<std::string> doubles = {"0",
                                            "-0",
                                            "0.0",
                                            "-0.0",
                                            "1",
                                            "1.0",
                                            "1e0",
                                            "1E+2",
                                            "1e-7",
                                            "123.456e-3",
                                            "0.1",
                                            "0.30000000000000004",
                                            "2.5e-310",
                                            "1.7976931348623157e308",
                                            "9007199254740993",
                                            "18446744073709551615",
                                            "18446744073709551616",
                                            "-9223372036854775809",
                                            "123456789012345678901234567890",
                                            "4.9e-324",
                                            "1e-400",
                                            "0.000001",
                                            "1e21",
                                            "1e15",
                                            "1e16",
                                            "-1.5e-5"};
  for (const auto& spelling : doubles) {
    const auto batch =
        R"({"public_key":"k","block_hash":"h","block_height":0,"nonces":[7],"dist":[)" + spelling + R"(],"node_id":3})";
    expectSameAsReference(message("generated", batch));
    const auto validated = R"({"public_key":"k","block_hash":"h","block_height":0,"nonces":[],"dist":[],"node_id":3,)"
                           R"("received_dist":[)" +
                           spelling + "," + spelling + R"(],"r_target":)" + spelling + R"(,"fraud_threshold":)" +
                           spelling + R"(,"n_invalid":0,"probability_honest":)" + spelling +
                           R"(,"fraud_detected":true})";
    expectSameAsReference(message("validated", validated));
  }
  const std::vector<std::string> integers = {"0",
                                             "-0",
                                             "9223372036854775807",
                                             "-9223372036854775808",
                                             "9223372036854775808",
                                             "-9223372036854775809",
                                             "1.0",
                                             "1e2",
                                             "00",
                                             "-",
                                             "+1",
                                             "01",
                                             "12345678901234567890123"};
  for (const auto& spelling : integers) {
    const auto batch = R"({"public_key":"k","block_hash":"h","block_height":)" + spelling + R"(,"nonces":[)" +
                       spelling + R"(],"dist":[0.5],"node_id":)" + spelling + "}";
    expectSameAsReference(message("generated", batch));
  }
}

TEST(Unit, RandomBatchesMatchTheJsonPathToTheByte) {
  std::mt19937_64 random(12345);
  const auto pick = [&](std::uint64_t n) { return random() % n; };
  for (int round = 0; round < 300; ++round) {
    const int length = static_cast<int>(pick(20));
    std::string nonces, dist;
    for (int i = 0; i < length; ++i) {
      if (i) nonces += ",", dist += ",";
      nonces += std::to_string(static_cast<std::int64_t>(random()));
      const double value = std::ldexp(static_cast<double>(random() >> 11), -static_cast<int>(pick(80)));
      char buffer[64];
      // Shortest, 17 digits, fixed and exponent forms: nlohmann may print each differently.
      switch (pick(4)) {
        case 0:
          std::snprintf(buffer, sizeof buffer, "%.17g", value);
          break;
        case 1:
          std::snprintf(buffer, sizeof buffer, "%.6f", value);
          break;
        case 2:
          std::snprintf(buffer, sizeof buffer, "%.12e", value);
          break;
        default:
          std::snprintf(buffer, sizeof buffer, "%g", value);
          break;
      }
      dist += buffer;
    }
    const std::string extra = pick(2) ? R"("extra":{"a":[1,{"b":null}],"c":"d"},)" : "";
    const auto batch = "{" + extra + R"("nonces":[)" + nonces + R"(],"dist":[)" + dist + R"(],"node_id":)" +
                       std::to_string(pick(9)) + R"(,"public_key":"pk-)" + std::to_string(round) +
                       R"(","block_hash":"0x)" + std::to_string(random()) + R"(","block_height":)" +
                       std::to_string(pick(1000000)) + "}";
    const auto text = message("generated", batch);
    EXPECT_TRUE(fastParseBatchMessage(text, kMaxLength).has_value()) << text;
    expectSameAsReference(text);
  }
}

TEST(Unit, TruncatedMessagesAreRefusedAsNotJson) {
  const auto whole = message("validated", kValidatedBatch);
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    const auto text = whole.substr(0, cut);
    SCOPED_TRACE(text);
    EXPECT_FALSE(fastParseBatchMessage(text, kMaxLength).has_value());
    const auto result = parseBatchMessage(text, kMaxLength);
    ASSERT_TRUE(std::holds_alternative<ParseError>(result));
    EXPECT_EQ(std::get<ParseError>(result).message.rfind("not a JSON object", 0), 0u)
        << std::get<ParseError>(result).message;
    EXPECT_TRUE(std::get<ParseError>(result).bad_json);
  }
}

TEST(Unit, BadMessagesAreRefusedWithTheReasonsOfTheJsonPath) {
  struct Case {
    const char* name;
    std::string text;
    const char* reason;  // a part of the expected refusal
  };
  const std::string g = kGeneratedBatch;
  std::string deep = "1";
  for (int i = 0; i < 200; ++i) deep = "[" + deep + "]";
  std::string long_nonces, long_dist;
  for (std::size_t i = 0; i <= kMaxLength; ++i) {
    long_nonces += (i ? "," : "") + std::to_string(i);
    long_dist += (i ? "," : "") + std::string("0.5");
  }
  const auto field = [](const std::string& name, const std::string& value) {
    // The generated batch with one field's value replaced.
    Json body = Json::parse(kGeneratedBatch);
    std::string text = body.dump();
    const auto key = "\"" + name + "\":";
    const auto at = text.find(key) + key.size();
    const auto end = text.find_first_of(name == "nonces" || name == "dist" ? "]" : ",}", at);
    return text.substr(0, at) + value + text.substr(end + (name == "nonces" || name == "dist" ? 1 : 0));
  };
  const std::vector<Case> cases = {
      {"not JSON", "hello", "not a JSON object"},
      {"an array", "[" + message("generated", g) + "]", "not a JSON object"},
      {"trailing garbage", message("generated", g) + "x", "not a JSON object"},
      {"two objects", message("generated", g) + message("generated", g), "not a JSON object"},
      {"NaN literal", message("generated", field("dist", "[NaN,0.5,0.5]")), "not a JSON object"},
      {"Infinity literal", message("generated", field("dist", "[Infinity,0.5,0.5]")), "not a JSON object"},
      {"number overflow", message("generated", field("dist", "[1e400,0.5,0.5]")), "not a JSON object"},
      {"single quotes", "{'type':'generated'}", "not a JSON object"},
      {"no type", R"({"batch":)" + g + R"(,"id":"1"})", "'type' must be"},
      {"type a number", R"({"type":5,"batch":)" + g + R"(,"id":"1"})", "'type' must be"},
      {"no id", R"({"type":"generated","batch":)" + g + "}", "'id' must be"},
      {"empty id", message("generated", g, "\"\""), "'id' must be"},
      {"id a number", message("generated", g, "7"), "'id' must be"},
      {"unknown type", message("proof", g), "unknown type 'proof'"},
      {"no batch", R"({"type":"generated","id":"1"})", "'batch' is missing"},
      {"batch a list", message("generated", "[1,2]"), "must be a JSON object"},
      {"batch null", message("generated", "null"), "must be a JSON object"},
      {"nonces strings", message("generated", field("nonces", R"(["1","2","3"])")), "batch.nonces"},
      {"nonces float", message("generated", field("nonces", "[1,2.5,3]")), "batch.nonces"},
      {"nonces over int64", message("generated", field("nonces", "[1,2,9223372036854775808]")), "batch.nonces"},
      {"nonces under int64", message("generated", field("nonces", "[1,2,-9223372036854775809]")), "batch.nonces"},
      {"nonces nested", message("generated", field("nonces", "[[1],2,3]")), "batch.nonces"},
      {"nonces null", message("generated", field("nonces", "null")), "batch.nonces is missing"},
      {"nonces an object", message("generated", field("nonces", R"({"a":1})")), "batch.nonces"},
      {"dist strings", message("generated", field("dist", R"(["0.1",0.2,0.3])")), "batch.dist"},
      {"dist bool", message("generated", field("dist", "[true,0.2,0.3]")), "batch.dist"},
      {"dist shorter", message("generated", field("dist", "[0.1,0.2]")), "they must match"},
      {"nonces over the cap", message("generated", field("nonces", "[" + long_nonces + "]")), "limit"},
      {"dist over the cap", message("generated", field("dist", "[" + long_dist + "]")), "limit"},
      {"block_height negative", message("generated", field("block_height", "-1")), "must not be negative"},
      {"block_height float", message("generated", field("block_height", "1.5")), "batch.block_height"},
      {"block_height string", message("generated", field("block_height", "\"1\"")), "batch.block_height"},
      {"node_id negative", message("generated", field("node_id", "-2")), "batch.node_id"},
      {"public_key number", message("generated", field("public_key", "5")), "batch.public_key"},
      {"public_key null", message("generated", field("public_key", "null")), "batch.public_key is missing"},
      {"deep nesting in an unknown field", message("generated", R"({"x":)" + deep + "," + g.substr(1)),
       "nested deeper than 64 levels"},
      {"deeply nested batch field", message("generated", field("nonces", deep)), "nested deeper than 64 levels"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expectSameAsReference(c.text);
    const auto result = parseBatchMessage(c.text, kMaxLength);
    if (std::string(c.reason).empty()) {
      EXPECT_TRUE(std::holds_alternative<BatchMessage>(result));
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<ParseError>(result));
    EXPECT_NE(std::get<ParseError>(result).message.find(c.reason), std::string::npos)
        << std::get<ParseError>(result).message;
  }
}

TEST(Unit, ValidatedFieldsOfTheWrongTypeAreRefusedForValidatedAndIgnoredForGenerated) {
  const auto text = [](const std::string& type) {
    return message(type, R"({"public_key":"k","block_hash":"h","block_height":1,"nonces":[1],"dist":[0.5],"node_id":1,)"
                         R"("received_dist":"no","r_target":"1.5","fraud_threshold":null,"n_invalid":-1,)"
                         R"("probability_honest":[1],"fraud_detected":1})");
  };
  expectSameAsReference(text("generated"));
  EXPECT_TRUE(std::holds_alternative<BatchMessage>(parseBatchMessage(text("generated"), kMaxLength)));
  expectSameAsReference(text("validated"));
  EXPECT_TRUE(std::holds_alternative<ParseError>(parseBatchMessage(text("validated"), kMaxLength)));
}

TEST(Unit, DuplicateKeysResolveAsTheJsonPathDoesTheLastOneWins) {
  const std::vector<std::string> texts = {
      message("generated", R"({"nonces":[9],"public_key":"k","block_hash":"h","block_height":1,"nonces":[1],)"
                           R"("dist":[0.5],"node_id":1})"),
      message("generated", R"({"nonces":"x","public_key":"k","block_hash":"h","block_height":1,"nonces":[1],)"
                           R"("dist":[0.5],"node_id":1})"),
      message("generated", R"({"nonces":[1],"public_key":"k","block_hash":"h","block_height":1,"nonces":"x",)"
                           R"("dist":[0.5],"node_id":1})"),
      R"({"type":"validated","type":"generated","id":"a","id":"b","batch":)" + std::string(kGeneratedBatch) + "}",
      R"({"type":"generated","id":"a","batch":[],"batch":)" + std::string(kGeneratedBatch) + "}",
  };
  for (const auto& text : texts) {
    EXPECT_FALSE(fastParseBatchMessage(text, kMaxLength).has_value()) << text;
    expectSameAsReference(text);
  }
}

TEST(Unit, EscapedAndNonAsciiStringsGoThroughTheJsonPathUnchanged) {
  const std::vector<std::string> texts = {
      message("generated", R"({"public_key":"p\"k\\1\n","block_hash":"0x\u00e9","block_height":1,"nonces":[1],)"
                           R"("dist":[0.5],"node_id":1})"),
      message("generated",
              "{\"public_key\":\"pk-\xc3\xa9\",\"block_hash\":\"h\",\"block_height\":1,\"nonces\":[1],"
              "\"dist\":[0.5],\"node_id\":1}"),
      message("generated",
              "{\"public_key\":\"pk-\xff\",\"block_hash\":\"h\",\"block_height\":1,\"nonces\":[1],"
              "\"dist\":[0.5],\"node_id\":1}"),  // not UTF-8: refused
      message("generated", R"({"public_k\u0065y":"k","block_hash":"h","block_height":1,"nonces":[1],)"
                           R"("dist":[0.5],"node_id":1})"),
      "\xef\xbb\xbf" + message("generated", kGeneratedBatch),  // a byte order mark
      message("generated", kGeneratedBatch, R"("id-\u0031")"),
  };
  for (const auto& text : texts) expectSameAsReference(text);
}

TEST(Unit, ABatchLongerThanReadJsonsDefaultValueCountIsReadWhenMaxBatchLengthAllowsIt) {
#if defined(__SANITIZE_THREAD__)
  // One thread and 600,000 values: 2 s in Release, 50 s under TSan, which has no race to look for here.
  GTEST_SKIP() << "single-threaded and slow under ThreadSanitizer";
#endif
  // 3 arrays of 200,000 are 600,000 values, past readJson's default of 500,000;
  // the escaped key sends it down the JSON path, which must honour max_batch_length.
  constexpr std::size_t kLength = 200'000;
  std::string nonces, dist;
  for (std::size_t i = 0; i < kLength; ++i) {
    nonces += (i ? "," : "") + std::to_string(i);
    dist += i ? ",0.5" : "0.5";
  }
  const std::string batch = R"({"public_k\u0065y":"k","block_hash":"h","block_height":1,"nonces":[)" + nonces +
                            R"(],"dist":[)" + dist + R"(],"node_id":1,"received_dist":[)" + dist +
                            R"(],"r_target":1.5,"fraud_threshold":0.01,"n_invalid":0,"probability_honest":0.99,)"
                            R"("fraud_detected":false})";
  ASSERT_FALSE(fastParseBatchBody(BatchKind::Validated, batch, kLength).has_value()) << "meant for the JSON path";
  const auto body = parseBatchBody(BatchKind::Validated, batch, kLength);
  ASSERT_TRUE(std::holds_alternative<Batch>(body)) << std::get<ParseError>(body).message;
  const auto whole = parseBatchMessage(message("validated", batch), kLength);
  ASSERT_TRUE(std::holds_alternative<BatchMessage>(whole)) << std::get<ParseError>(whole).message;
  EXPECT_EQ(std::get<BatchMessage>(whole).batch.content_hash, std::get<Batch>(body).content_hash);
}

TEST(Unit, HttpBodiesTellBadJsonFromInvalidBatches) {
  const auto bad_json = parseBatchBody(BatchKind::Generated, "{\"public_key\":", kMaxLength);
  ASSERT_TRUE(std::holds_alternative<ParseError>(bad_json));
  EXPECT_TRUE(std::get<ParseError>(bad_json).bad_json);
  EXPECT_EQ(std::get<ParseError>(bad_json).message, "the body is refused: not valid JSON at byte 15");

  const auto invalid = parseBatchBody(BatchKind::Validated, kGeneratedBatch, kMaxLength);
  ASSERT_TRUE(std::holds_alternative<ParseError>(invalid));
  EXPECT_FALSE(std::get<ParseError>(invalid).bad_json);
  EXPECT_EQ(std::get<ParseError>(invalid).message, "batch.received_dist is missing");

  const auto not_object = parseBatchBody(BatchKind::Generated, "[1]", kMaxLength);
  ASSERT_TRUE(std::holds_alternative<ParseError>(not_object));
  EXPECT_FALSE(std::get<ParseError>(not_object).bad_json);

  for (const auto kind : {BatchKind::Generated, BatchKind::Validated}) {
    const std::string text = kind == BatchKind::Generated ? kGeneratedBatch : kValidatedBatch;
    const auto parsed = parseBatchBody(kind, text, kMaxLength);
    ASSERT_TRUE(std::holds_alternative<Batch>(parsed));
    auto reference = validateBatch(kind, Json::parse(text), kMaxLength);
    ASSERT_TRUE(std::holds_alternative<Batch>(reference));
    EXPECT_EQ(std::get<Batch>(parsed).content_hash, std::get<Batch>(reference).content_hash);
    EXPECT_EQ(std::get<Batch>(parsed).canonical, std::get<Batch>(reference).canonical);
  }
}

TEST(Unit, ContentHashOfAKnownBatchIsUnchanged) {
  // Batches already on disk must dedup against the same content arriving now:
  // the hash of this batch was computed by the first release (Poco's SHA-256 of
  // nlohmann's dump).
  const auto parsed = parseBatchBody(BatchKind::Generated, kGeneratedBatch, kMaxLength);
  ASSERT_TRUE(std::holds_alternative<Batch>(parsed));
  EXPECT_EQ(
      std::get<Batch>(parsed).canonical,
      R"({"block_hash":"0xabc","block_height":10,"dist":[0.25,0.5,0.75],"node_id":1,"nonces":[1,2,3],"public_key":"pk-1"})");
  EXPECT_EQ(std::get<Batch>(parsed).content_hash, kKnownHash);
}

}  // namespace
}  // namespace eventnode::plugins::pow_batches
