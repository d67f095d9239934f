#include "batch.hpp"

#include <openssl/evp.h>

#include <charconv>
#include <cmath>
#include <memory>
#include <stdexcept>
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

/// Hex SHA-256 of "<kind>\n<canonical>". OpenSSL's, which uses the CPU's SHA
/// instructions where there are some (Poco's took 9 % of the intake).
std::string contentHash(BatchKind kind, const std::string& canonical) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const std::string_view name = kindName(kind);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), name.data(), name.size()) != 1 || EVP_DigestUpdate(context.get(), "\n", 1) != 1 ||
      EVP_DigestUpdate(context.get(), canonical.data(), canonical.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest, &size) != 1) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(size * 2, '0');
  for (unsigned int i = 0; i < size; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  return hex;
}

/// Prints like nlohmann's dump(): the canonical text must not depend on which
/// path read the batch.
void appendInteger(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}
void appendDouble(std::string& out, double value) {
  char buffer[64];
  const auto end = nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}
void appendString(std::string& out, const std::string& value) {
  out += Json(value).dump();
}
template <typename T>
void appendArray(std::string& out, const std::vector<T>& values) {
  // Printed in place: at most 20 characters an int64, 24 a double (grisu2), plus a comma.
  constexpr std::size_t kMostPerValue = 32;
  const auto start = out.size();
  out.resize(start + 2 + kMostPerValue * values.size());
  char* p = out.data() + start;
  char* const limit = out.data() + out.size();
  *p++ = '[';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) *p++ = ',';
    if constexpr (std::is_same_v<T, double>)
      p = nlohmann::detail::to_chars(p, limit, values[i]);
    else
      p = std::to_chars(p, limit, values[i]).ptr;
  }
  *p++ = ']';
  out.resize(static_cast<std::size_t>(p - out.data()));
}
void appendKey(std::string& out, const char* key) {
  out += out.empty() ? "{\"" : ",\"";
  out += key;
  out += "\":";
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
  // nlohmann objects keep keys sorted, and numbers print the same way each
  // time, so this text is the same for the same content.
  batch.canonical = check.out.dump();
  batch.content_hash = contentHash(kind, batch.canonical);
  return batch;
}

Batch batchFromValues(BatchKind kind, const BatchValues& v) {
  const bool validated = kind == BatchKind::Validated;
  Batch batch;
  batch.kind = kind;
  batch.node_num = static_cast<std::uint64_t>(v.node_id);
  // Keys in nlohmann's (sorted) order. appendArray needs 32 bytes of room a value.
  auto& text = batch.canonical;
  text.reserve(512 + 32 * (v.nonces.size() + v.dist.size() + v.received_dist.size()));
  appendKey(text, "block_hash");
  appendString(text, v.block_hash);
  appendKey(text, "block_height");
  appendInteger(text, v.block_height);
  appendKey(text, "dist");
  appendArray(text, v.dist);
  if (validated) {
    appendKey(text, "fraud_detected");
    text += v.fraud_detected ? "true" : "false";
    appendKey(text, "fraud_threshold");
    appendDouble(text, v.fraud_threshold);
    appendKey(text, "n_invalid");
    appendInteger(text, v.n_invalid);
  }
  appendKey(text, "node_id");
  appendInteger(text, v.node_id);
  appendKey(text, "nonces");
  appendArray(text, v.nonces);
  if (validated) {
    appendKey(text, "probability_honest");
    appendDouble(text, v.probability_honest);
  }
  appendKey(text, "public_key");
  appendString(text, v.public_key);
  if (validated) {
    appendKey(text, "r_target");
    appendDouble(text, v.r_target);
    appendKey(text, "received_dist");
    appendArray(text, v.received_dist);
  }
  text += '}';
  batch.content_hash = contentHash(kind, batch.canonical);

  return batch;
}

}  // namespace eventnode::plugins::pow_batches
