#include "batch.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <regex>
#include <string>
#include <variant>
#include <vector>

namespace eventnode::plugins::pow_batches {
namespace {

using plugin::Json;

constexpr std::size_t kMaxLength = 100;

Json generatedBody() {
  return Json{{"public_key", "pk-1"}, {"block_hash", "0xabc"},     {"block_height", 10},
              {"nonces", {1, 2, 3}},  {"dist", {0.25, 0.5, 0.75}}, {"node_id", 1}};
}

Json validatedBody() {
  auto body = generatedBody();
  body["received_dist"] = {0.25, 0.5, 0.7};
  body["r_target"] = 1.5;
  body["fraud_threshold"] = 0.01;
  body["n_invalid"] = 0;
  body["probability_honest"] = 0.99;
  body["fraud_detected"] = false;
  return body;
}

Json bodyFor(BatchKind kind) {
  return kind == BatchKind::Generated ? generatedBody() : validatedBody();
}

/// The batch, or a test failure carrying the refusal.
Batch mustPass(BatchKind kind, const Json& body, std::size_t max_length = kMaxLength) {
  auto result = validateBatch(kind, body, max_length);
  if (const auto* error = std::get_if<BatchError>(&result)) {
    ADD_FAILURE() << "refused: " << error->message;
    return Batch{};
  }
  return std::get<Batch>(std::move(result));
}

/// The refusal's message, or "" and a test failure when the batch passes.
std::string mustFail(BatchKind kind, const Json& body, std::size_t max_length = kMaxLength) {
  auto result = validateBatch(kind, body, max_length);
  if (const auto* error = std::get_if<BatchError>(&result)) return error->message;
  ADD_FAILURE() << "accepted " << body.dump();
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool isHexSha256(const std::string& text) {
  static const std::regex kHex("^[0-9a-f]{64}$");
  return std::regex_match(text, kHex);
}

const std::vector<const char*> kGeneratedFields = {"public_key", "block_hash", "block_height",
                                                   "nonces",     "dist",       "node_id"};
const std::vector<const char*> kValidatedOnlyFields = {"received_dist", "r_target",           "fraud_threshold",
                                                       "n_invalid",     "probability_honest", "fraud_detected"};

TEST(Unit, ValidGeneratedBatchPassesWithNodeNumAndHexContentHash) {
  const auto batch = mustPass(BatchKind::Generated, generatedBody());
  EXPECT_EQ(batch.kind, BatchKind::Generated);
  EXPECT_EQ(batch.node_num, 1u);
  EXPECT_TRUE(isHexSha256(batch.content_hash)) << batch.content_hash;
  EXPECT_EQ(Json::parse(batch.canonical), generatedBody());
}

TEST(Unit, ValidValidatedBatchPassesWithNodeNumAndHexContentHash) {
  auto body = validatedBody();
  body["node_id"] = 7;
  const auto batch = mustPass(BatchKind::Validated, body);
  EXPECT_EQ(batch.kind, BatchKind::Validated);
  EXPECT_EQ(batch.node_num, 7u);
  EXPECT_TRUE(isHexSha256(batch.content_hash)) << batch.content_hash;
  EXPECT_EQ(Json::parse(batch.canonical), body);
}

TEST(Unit, ValidBatchKeepsOnlyTheFieldsOfItsFormat) {
  auto body = validatedBody();
  body["type"] = "validated";
  body["id"] = "0a1b";
  const auto generated = mustPass(BatchKind::Generated, body);
  EXPECT_EQ(Json::parse(generated.canonical), generatedBody());
  const auto validated = mustPass(BatchKind::Validated, body);
  EXPECT_EQ(Json::parse(validated.canonical), validatedBody());
}

TEST(Unit, EmptyNoncesAndDistPass) {
  auto body = generatedBody();
  body["nonces"] = Json::array();
  body["dist"] = Json::array();
  const auto batch = mustPass(BatchKind::Generated, body);
  EXPECT_TRUE(isHexSha256(batch.content_hash));
}

TEST(Unit, NoncesAcceptTheWholeInt64Range) {
  auto body = generatedBody();
  body["nonces"] = {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())};
  const auto batch = mustPass(BatchKind::Generated, body);
  EXPECT_EQ(Json::parse(batch.canonical)["nonces"], body["nonces"]);
}

TEST(Unit, ArraysOfExactlyMaxLengthPass) {
  auto body = validatedBody();
  body["nonces"] = {1, 2, 3};
  mustPass(BatchKind::Validated, body, 3);
}

TEST(Unit, MissingRequiredFieldIsRefusedNamingTheField) {
  struct Case {
    BatchKind kind;
    const char* field;
  };
  std::vector<Case> cases;
  for (const auto* field : kGeneratedFields) {
    cases.push_back({BatchKind::Generated, field});
    cases.push_back({BatchKind::Validated, field});
  }
  for (const auto* field : kValidatedOnlyFields) cases.push_back({BatchKind::Validated, field});

  for (const auto& c : cases) {
    for (const bool as_null : {false, true}) {
      SCOPED_TRACE(std::string(kindName(c.kind)) + " without " + c.field + (as_null ? " (null)" : " (absent)"));
      auto body = bodyFor(c.kind);
      if (as_null) {
        body[c.field] = nullptr;
      } else {
        body.erase(c.field);
      }
      const auto message = mustFail(c.kind, body);
      EXPECT_TRUE(contains(message, std::string("batch.") + c.field)) << message;
      EXPECT_TRUE(contains(message, "missing")) << message;
    }
  }
}

TEST(Unit, WrongFieldValueIsRefusedNamingTheField) {
  struct Case {
    const char* name;
    BatchKind kind;
    std::function<void(Json&)> change;
    const char* field;  // the message must name batch.<field>
  };
  const auto big = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1u;
  const std::vector<Case> cases = {
      {"public_key number", BatchKind::Generated, [](Json& b) { b["public_key"] = 12; }, "public_key"},
      {"block_hash number", BatchKind::Generated, [](Json& b) { b["block_hash"] = 12; }, "block_hash"},
      {"block_hash list", BatchKind::Generated, [](Json& b) { b["block_hash"] = Json::array(); }, "block_hash"},
      {"block_height 1.5", BatchKind::Generated, [](Json& b) { b["block_height"] = 1.5; }, "block_height"},
      {"block_height \"5\"", BatchKind::Generated, [](Json& b) { b["block_height"] = "5"; }, "block_height"},
      {"block_height -1", BatchKind::Generated, [](Json& b) { b["block_height"] = -1; }, "block_height"},
      {"block_height true", BatchKind::Generated, [](Json& b) { b["block_height"] = true; }, "block_height"},
      {"nonces not a list", BatchKind::Generated, [](Json& b) { b["nonces"] = 5; }, "nonces"},
      {"nonces object", BatchKind::Generated, [](Json& b) { b["nonces"] = Json::object(); }, "nonces"},
      {"nonces with 1.5", BatchKind::Generated,
       [](Json& b) {
         b["nonces"] = {1, 1.5, 3};
       },
       "nonces"},
      {"nonces with a string", BatchKind::Generated,
       [](Json& b) {
         b["nonces"] = {1, "2", 3};
       },
       "nonces"},
      {"nonces above INT64_MAX", BatchKind::Generated,
       [big](Json& b) {
         b["nonces"] = {1, 2, big};
       },
       "nonces"},
      {"nonces with null", BatchKind::Generated,
       [](Json& b) {
         b["nonces"] = {1, nullptr, 3};
       },
       "nonces"},
      {"dist not a list", BatchKind::Generated, [](Json& b) { b["dist"] = "0.5"; }, "dist"},
      {"dist with a string", BatchKind::Generated,
       [](Json& b) {
         b["dist"] = {0.1, "0.2", 0.3};
       },
       "dist"},
      {"dist with NaN", BatchKind::Generated,
       [](Json& b) {
         b["dist"] = {0.1, std::nan(""), 0.3};
       },
       "dist"},
      {"dist shorter than nonces", BatchKind::Generated,
       [](Json& b) {
         b["dist"] = {0.1, 0.2};
       },
       "dist"},
      {"dist longer than nonces", BatchKind::Generated,
       [](Json& b) {
         b["dist"] = {0.1, 0.2, 0.3, 0.4};
       },
       "dist"},
      {"dist empty, nonces not", BatchKind::Generated, [](Json& b) { b["dist"] = Json::array(); }, "dist"},
      {"node_id -1", BatchKind::Generated, [](Json& b) { b["node_id"] = -1; }, "node_id"},
      {"node_id string", BatchKind::Generated, [](Json& b) { b["node_id"] = "1"; }, "node_id"},
      {"node_id 1.5", BatchKind::Generated, [](Json& b) { b["node_id"] = 1.5; }, "node_id"},
      {"validated: public_key number", BatchKind::Validated, [](Json& b) { b["public_key"] = 12; }, "public_key"},
      {"validated: dist length", BatchKind::Validated, [](Json& b) { b["dist"] = {0.1}; }, "dist"},
      {"validated: node_id -1", BatchKind::Validated, [](Json& b) { b["node_id"] = -3; }, "node_id"},
      {"received_dist not a list", BatchKind::Validated, [](Json& b) { b["received_dist"] = 0.5; }, "received_dist"},
      {"received_dist with a string", BatchKind::Validated,
       [](Json& b) {
         b["received_dist"] = {0.1, "x"};
       },
       "received_dist"},
      {"r_target string", BatchKind::Validated, [](Json& b) { b["r_target"] = "1.5"; }, "r_target"},
      {"r_target list", BatchKind::Validated, [](Json& b) { b["r_target"] = {1.5}; }, "r_target"},
      {"r_target infinite", BatchKind::Validated,
       [](Json& b) { b["r_target"] = std::numeric_limits<double>::infinity(); }, "r_target"},
      {"fraud_threshold string", BatchKind::Validated, [](Json& b) { b["fraud_threshold"] = "0.01"; },
       "fraud_threshold"},
      {"fraud_threshold bool", BatchKind::Validated, [](Json& b) { b["fraud_threshold"] = true; }, "fraud_threshold"},
      {"n_invalid -1", BatchKind::Validated, [](Json& b) { b["n_invalid"] = -1; }, "n_invalid"},
      {"n_invalid 1.5", BatchKind::Validated, [](Json& b) { b["n_invalid"] = 1.5; }, "n_invalid"},
      {"n_invalid string", BatchKind::Validated, [](Json& b) { b["n_invalid"] = "0"; }, "n_invalid"},
      {"probability_honest string", BatchKind::Validated, [](Json& b) { b["probability_honest"] = "0.9"; },
       "probability_honest"},
      {"fraud_detected 1", BatchKind::Validated, [](Json& b) { b["fraud_detected"] = 1; }, "fraud_detected"},
      {"fraud_detected \"true\"", BatchKind::Validated, [](Json& b) { b["fraud_detected"] = "true"; },
       "fraud_detected"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(kindName(c.kind)) + ": " + c.name);
    auto body = bodyFor(c.kind);
    c.change(body);
    const auto message = mustFail(c.kind, body);
    EXPECT_TRUE(contains(message, std::string("batch.") + c.field)) << message;
  }
}

TEST(Unit, ArrayLongerThanMaxLengthIsRefusedNamingTheArray) {
  struct Case {
    const char* name;
    BatchKind kind;
    std::function<void(Json&)> change;
    const char* field;
  };
  // The limit is 3; the bodies hold 3 entries per array.
  const std::vector<Case> cases = {
      {"nonces", BatchKind::Generated,
       [](Json& b) {
         b["nonces"] = {1, 2, 3, 4};
       },
       "nonces"},
      {"dist", BatchKind::Generated,
       [](Json& b) {
         b["dist"] = {0.1, 0.2, 0.3, 0.4};
       },
       "dist"},
      {"nonces and dist", BatchKind::Generated,
       [](Json& b) {
         b["nonces"] = {1, 2, 3, 4};
         b["dist"] = {0.1, 0.2, 0.3, 0.4};
       },
       "nonces"},
      {"received_dist", BatchKind::Validated,
       [](Json& b) {
         b["received_dist"] = {0.1, 0.2, 0.3, 0.4};
       },
       "received_dist"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(kindName(c.kind)) + ": " + c.name);
    auto body = bodyFor(c.kind);
    c.change(body);
    const auto message = mustFail(c.kind, body, 3);
    EXPECT_TRUE(contains(message, std::string("batch.") + c.field)) << message;
    EXPECT_TRUE(contains(message, "limit")) << message;
  }
}

TEST(Unit, NonObjectBodyIsRefused) {
  const std::vector<Json> bodies = {
      Json::array(), Json::array({generatedBody()}), Json("batch"), Json(5), Json(nullptr), Json(true)};
  for (const auto kind : {BatchKind::Generated, BatchKind::Validated}) {
    for (const auto& body : bodies) {
      SCOPED_TRACE(std::string(kindName(kind)) + ": " + body.dump());
      const auto message = mustFail(kind, body);
      EXPECT_TRUE(contains(message, "object")) << message;
    }
  }
}

TEST(Unit, ContentHashIgnoresKeyOrderAndUnknownFields) {
  for (const auto kind : {BatchKind::Generated, BatchKind::Validated}) {
    SCOPED_TRACE(kindName(kind));
    const auto reference = mustPass(kind, bodyFor(kind));
    const auto reordered = Json::parse(
        R"({"node_id":1,"dist":[0.25,0.5,0.75],"nonces":[1,2,3],"block_height":10,"block_hash":"0xabc","public_key":"pk-1",)"
        R"("fraud_detected":false,"probability_honest":0.99,"n_invalid":0,"fraud_threshold":0.01,"r_target":1.5,)"
        R"("received_dist":[0.25,0.5,0.7],"extra":{"x":1},"type":"whatever"})");
    const auto again = mustPass(kind, reordered);
    EXPECT_EQ(again.content_hash, reference.content_hash);
    EXPECT_EQ(again.canonical, reference.canonical);
  }
  auto extra = generatedBody();
  extra["unknown"] = "ignored";
  EXPECT_EQ(mustPass(BatchKind::Generated, extra).content_hash,
            mustPass(BatchKind::Generated, generatedBody()).content_hash);
}

TEST(Unit, ContentHashChangesWhenAnyFieldChanges) {
  struct Case {
    const char* name;
    bool generated_field;  // also part of a ProofBatch
    std::function<void(Json&)> change;
  };
  const std::vector<Case> cases = {
      {"public_key", true, [](Json& b) { b["public_key"] = "pk-2"; }},
      {"block_hash", true, [](Json& b) { b["block_hash"] = "0xabd"; }},
      {"block_height", true, [](Json& b) { b["block_height"] = 11; }},
      {"nonces value", true,
       [](Json& b) {
         b["nonces"] = {1, 2, 4};
       }},
      {"nonces order", true,
       [](Json& b) {
         b["nonces"] = {3, 2, 1};
       }},
      {"dist", true,
       [](Json& b) {
         b["dist"] = {0.25, 0.5, 0.76};
       }},
      {"node_id", true, [](Json& b) { b["node_id"] = 2; }},
      {"received_dist", false,
       [](Json& b) {
         b["received_dist"] = {0.25, 0.5, 0.71};
       }},
      {"r_target", false, [](Json& b) { b["r_target"] = 1.6; }},
      {"fraud_threshold", false, [](Json& b) { b["fraud_threshold"] = 0.02; }},
      {"n_invalid", false, [](Json& b) { b["n_invalid"] = 1; }},
      {"probability_honest", false, [](Json& b) { b["probability_honest"] = 0.98; }},
      {"fraud_detected", false, [](Json& b) { b["fraud_detected"] = true; }},
  };
  const auto validated_reference = mustPass(BatchKind::Validated, validatedBody());
  const auto generated_reference = mustPass(BatchKind::Generated, generatedBody());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto validated = validatedBody();
    c.change(validated);
    EXPECT_NE(mustPass(BatchKind::Validated, validated).content_hash, validated_reference.content_hash);
    if (c.generated_field) {
      auto generated = generatedBody();
      c.change(generated);
      EXPECT_NE(mustPass(BatchKind::Generated, generated).content_hash, generated_reference.content_hash);
    }
  }
}

TEST(Unit, ContentHashDiffersBetweenGeneratedAndValidatedKinds) {
  // The same body read as each kind: a validated batch never collides with
  // the generated batch it extends.
  const auto body = validatedBody();
  const auto generated = mustPass(BatchKind::Generated, body);
  const auto validated = mustPass(BatchKind::Validated, body);
  EXPECT_NE(generated.content_hash, validated.content_hash);
  EXPECT_EQ(generated.content_hash, mustPass(BatchKind::Generated, generatedBody()).content_hash);
}

TEST(Unit, ParseKindReadsBothKindNamesAndRefusesOthers) {
  EXPECT_EQ(parseKind("generated"), BatchKind::Generated);
  EXPECT_EQ(parseKind("validated"), BatchKind::Validated);
  for (const char* name : {"", "Generated", "VALIDATED", "generated ", "proof", "validated\n"}) {
    SCOPED_TRACE(std::string("'") + name + "'");
    EXPECT_EQ(parseKind(name), std::nullopt);
  }
}

TEST(Unit, KindNameRoundTripsThroughParseKind) {
  EXPECT_STREQ(kindName(BatchKind::Generated), "generated");
  EXPECT_STREQ(kindName(BatchKind::Validated), "validated");
  for (const auto kind : {BatchKind::Generated, BatchKind::Validated}) EXPECT_EQ(parseKind(kindName(kind)), kind);
}

}  // namespace
}  // namespace eventnode::plugins::pow_batches
