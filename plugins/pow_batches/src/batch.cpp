#include "batch.hpp"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include <cmath>
#include <variant>

namespace eventnode::plugins::pow_batches {
namespace {

using plugin::Json;

struct Checker {
  const Json& body;
  std::size_t max_length;
  Json out = Json::object();
  std::optional<BatchError> error;

  const Json* field(const char* name) {
    if (error) return nullptr;
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
      error = BatchError{std::string("batch.") + name + " is missing"};
      return nullptr;
    }
    return &*it;
  }
  void fail(const char* name, const std::string& what) {
    error = BatchError{std::string("batch.") + name + " " + what};
  }

  void string(const char* name) {
    if (const auto* v = field(name)) {
      if (!v->is_string()) return fail(name, "must be a string");
      out[name] = *v;
    }
  }
  void integer(const char* name, bool non_negative) {
    if (const auto* v = field(name)) {
      if (!v->is_number_integer()) return fail(name, "must be an integer");
      // Every integer of the format is stored as a signed 64-bit value.
      if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        return fail(name, "is larger than a 64-bit signed integer");
      }
      if (non_negative && !v->is_number_unsigned() && v->get<std::int64_t>() < 0) {
        return fail(name, "must not be negative, got " + v->dump());
      }
      out[name] = v->get<std::int64_t>();
    }
  }
  void number(const char* name) {
    if (const auto* v = field(name)) {
      if (!v->is_number()) return fail(name, "must be a number");
      if (!std::isfinite(v->get<double>())) return fail(name, "must be finite");
      out[name] = v->get<double>();
    }
  }
  void boolean(const char* name) {
    if (const auto* v = field(name)) {
      if (!v->is_boolean()) return fail(name, "must be true or false");
      out[name] = *v;
    }
  }
  /// An array of integers (int64) or of finite numbers; returns its length.
  std::size_t array(const char* name, bool integers) {
    const auto* v = field(name);
    if (!v) return 0;
    if (!v->is_array()) {
      fail(name, integers ? "must be a list of integers" : "must be a list of numbers");
      return 0;
    }
    if (v->size() > max_length) {
      fail(name, "has " + std::to_string(v->size()) + " entries; the limit is " + std::to_string(max_length));
      return 0;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      const auto& item = (*v)[i];
      const bool ok =
          integers ? (item.is_number_integer() &&
                      !(item.is_number_unsigned() && item.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)))
                   : (item.is_number() && std::isfinite(item.get<double>()));
      if (!ok) {
        fail(name, "[" + std::to_string(i) + "] must be " + (integers ? "a 64-bit integer" : "a finite number") +
                       ", got " + item.dump().substr(0, 40));
        return 0;
      }
    }
    // Stored by type, not as spelled: a float64 written 1 or 1.0 is the same
    // value and must give the same content hash.
    auto& values = out[name] = Json::array();
    for (const auto& item : *v) {
      if (integers)
        values.push_back(item.get<std::int64_t>());
      else
        values.push_back(item.get<double>());
    }
    return v->size();
  }
};

std::string sha256Hex(const std::string& text) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(text);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

}  // namespace

const char* kindName(BatchKind kind) {
  return kind == BatchKind::Generated ? "generated" : "validated";
}

std::optional<BatchKind> parseKind(std::string_view name) {
  if (name == "generated") return BatchKind::Generated;
  if (name == "validated") return BatchKind::Validated;
  return std::nullopt;
}

std::variant<Batch, BatchError> validateBatch(BatchKind kind, const Json& body, std::size_t max_length) {
  if (!body.is_object()) return BatchError{"the batch must be a JSON object"};
  Checker check{body, max_length, Json::object(), std::nullopt};
  check.string("public_key");
  check.string("block_hash");
  check.integer("block_height", true);
  const auto nonces = check.array("nonces", true);
  const auto dist = check.array("dist", false);
  if (!check.error && nonces != dist) {
    check.fail("dist", "has " + std::to_string(dist) + " entries but nonces has " + std::to_string(nonces) +
                           "; they must match");
  }
  check.integer("node_id", true);
  if (kind == BatchKind::Validated) {
    check.array("received_dist", false);
    check.number("r_target");
    check.number("fraud_threshold");
    check.integer("n_invalid", true);
    check.number("probability_honest");
    check.boolean("fraud_detected");
  }
  if (check.error) return *check.error;
  Batch batch;
  batch.kind = kind;
  batch.node_num = check.out["node_id"].get<std::uint64_t>();
  batch.fields = std::move(check.out);
  // nlohmann objects keep keys sorted, and numbers print the same way each
  // time, so this text is the same for the same content.
  batch.canonical = batch.fields.dump();
  batch.content_hash = sha256Hex(std::string(kindName(kind)) + "\n" + batch.canonical);
  return batch;
}

}  // namespace eventnode::plugins::pow_batches
