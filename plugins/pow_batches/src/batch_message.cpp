#include "batch_message.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace eventnode::plugins::pow_batches {
namespace {

using plugin::Json;

// Nesting of unknown values the reader skips itself; deeper goes to nlohmann.
constexpr int kMaxSkipDepth = 32;

/// The known fields of a batch, as bits of the set of fields seen.
enum Field : unsigned {
  kPublicKey = 1u << 0,
  kBlockHash = 1u << 1,
  kBlockHeight = 1u << 2,
  kNonces = 1u << 3,
  kDist = 1u << 4,
  kNodeId = 1u << 5,
  kReceivedDist = 1u << 6,
  kRTarget = 1u << 7,
  kFraudThreshold = 1u << 8,
  kNInvalid = 1u << 9,
  kProbabilityHonest = 1u << 10,
  kFraudDetected = 1u << 11,
};
constexpr unsigned kGeneratedFields = kPublicKey | kBlockHash | kBlockHeight | kNonces | kDist | kNodeId;
constexpr unsigned kValidatedFields =
    kGeneratedFields | kReceivedDist | kRTarget | kFraudThreshold | kNInvalid | kProbabilityHonest | kFraudDetected;

/// A one-pass reader over JSON text. Every method returns false when the input
/// is not the plain form it handles; the caller then gives up (nullopt) and
/// the nlohmann path decides. It never accepts what that path would refuse.
class Reader {
 public:
  Reader(std::string_view text, std::size_t max_length)
      : p_(text.data()), end_(text.data() + text.size()), max_length_(max_length) {}

  void skipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool atEnd() {
    skipSpace();
    return p_ == end_;
  }
  bool consume(char c) {
    skipSpace();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool peek(char c) {
    skipSpace();
    return p_ != end_ && *p_ == c;
  }

  /// A string of printable ASCII without escapes: its text is its value, and
  /// nlohmann prints it back unchanged.
  bool string(std::string_view& out) {
    if (!consume('"')) return false;
    const char* start = p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x7f || c == '\\') return false;
      ++p_;
    }
    return false;
  }

  /// An integer in int64 range written as JSON writes integers (no fraction
  /// or exponent, which nlohmann would read as a float).
  bool integer(std::int64_t& out) {
    skipSpace();
    const char* start = p_;
    const bool negative = p_ != end_ && *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0' && p_ + 1 != end_ && p_[1] >= '0' && p_[1] <= '9') return false;  // a leading zero
    std::uint64_t magnitude = 0;
    const char* digits = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      if (p_ - digits >= 19) return false;  // 20 digits and more: beyond int64
      magnitude = magnitude * 10 + static_cast<std::uint64_t>(*p_ - '0');
      ++p_;
    }
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (negative) {
      if (magnitude > kMax + 1) return false;
      out = magnitude == kMax + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(magnitude);
    } else {
      if (magnitude > kMax) return false;
      out = static_cast<std::int64_t>(magnitude);
    }
    (void)start;
    return true;
  }

  /// A non-negative integer (block_height, node_id, n_invalid).
  bool count(std::int64_t& out) {
    skipSpace();
    if (p_ != end_ && *p_ == '-') return false;
    return integer(out);
  }

  /// Any JSON number, as the finite double nlohmann's get<double>() gives.
  bool number(double& out) {
    skipSpace();
    const char* start = p_;
    bool integral = true;
    if (!scanNumber(integral)) return false;
    if (integral && *start == '-' && p_ - start == 2 && start[1] == '0') {
      out = 0.0;  // "-0" is the integer 0 to nlohmann, so +0.0 as a double
      return true;
    }
    // Correctly rounded, like the strtod nlohmann calls (or the exact
    // integer it converts); errors (overflow, underflow) go to nlohmann.
    const auto [end, error] = std::from_chars(start, p_, out);
    return error == std::errc() && end == p_ && std::isfinite(out);
  }

  bool boolean(bool& out) {
    skipSpace();
    if (literal("true")) {
      out = true;
      return true;
    }
    if (literal("false")) {
      out = false;
      return true;
    }
    return false;
  }

  bool integers(std::vector<std::int64_t>& out) {
    return array([&] {
      std::int64_t value = 0;
      if (!integer(value)) return false;
      out.push_back(value);
      return true;
    });
  }
  bool numbers(std::vector<double>& out) {
    return array([&] {
      double value = 0;
      if (!number(value)) return false;
      out.push_back(value);
      return true;
    });
  }

  /// Skips any value the format does not name, checking it is valid JSON.
  bool skipValue(int depth = 0) {
    skipSpace();
    if (p_ == end_ || depth > kMaxSkipDepth) return false;
    switch (*p_) {
      case '"': {
        std::string_view ignored;
        return string(ignored);
      }
      case '{': {
        ++p_;
        if (consume('}')) return true;
        do {
          std::string_view key;
          if (!string(key) || !consume(':') || !skipValue(depth + 1)) return false;
        } while (consume(','));
        return consume('}');
      }
      case '[': {
        ++p_;
        if (consume(']')) return true;
        do {
          if (!skipValue(depth + 1)) return false;
        } while (consume(','));
        return consume(']');
      }
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default: {
        double ignored = 0;
        return number(ignored);
      }
    }
  }

 private:
  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  /// The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool scanNumber(bool& integral) {
    const auto digit = [&] { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; };
    if (p_ != end_ && *p_ == '-') ++p_;
    if (!digit()) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (digit()) ++p_;
    }
    if (p_ != end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (!digit()) return false;
      while (digit()) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit()) return false;
      while (digit()) ++p_;
    }
    return true;
  }

  template <typename Item>
  bool array(Item item) {
    if (!consume('[')) return false;
    if (consume(']')) return true;
    std::size_t count = 0;
    do {
      // Over the cap: nlohmann reads it all and refuses it with the limit.
      if (++count > max_length_ || !item()) return false;
    } while (consume(','));
    return consume(']');
  }

  const char* p_;
  const char* end_;
  std::size_t max_length_;
};

/// Reads a batch object's members into `values`; `seen` gets a bit per known
/// field. A field met twice, null, or of another type than the format's is
/// left to nlohmann (which keeps the last of duplicates, or refuses).
bool readBatch(Reader& in, BatchValues& values, unsigned& seen) {
  if (!in.consume('{')) return false;
  if (in.consume('}')) return true;
  do {
    std::string_view key;
    if (!in.string(key) || !in.consume(':')) return false;
    struct Known {
      std::string_view name;
      Field bit;
    };
    static constexpr Known kKnown[] = {
        {"public_key", kPublicKey},
        {"block_hash", kBlockHash},
        {"block_height", kBlockHeight},
        {"nonces", kNonces},
        {"dist", kDist},
        {"node_id", kNodeId},
        {"received_dist", kReceivedDist},
        {"r_target", kRTarget},
        {"fraud_threshold", kFraudThreshold},
        {"n_invalid", kNInvalid},
        {"probability_honest", kProbabilityHonest},
        {"fraud_detected", kFraudDetected},
    };
    unsigned bit = 0;
    for (const auto& known : kKnown) {
      if (known.name == key) {
        bit = known.bit;
        break;
      }
    }
    if (bit & seen) return false;
    seen |= bit;
    bool ok = true;
    std::string_view text;
    switch (bit) {
      case 0:
        ok = in.skipValue();
        break;
      case kPublicKey:
        ok = in.string(text);
        values.public_key = text;
        break;
      case kBlockHash:
        ok = in.string(text);
        values.block_hash = text;
        break;
      case kBlockHeight:
        ok = in.count(values.block_height);
        break;
      case kNonces:
        ok = in.integers(values.nonces);
        break;
      case kDist:
        ok = in.numbers(values.dist);
        break;
      case kNodeId:
        ok = in.count(values.node_id);
        break;
      case kReceivedDist:
        ok = in.numbers(values.received_dist);
        break;
      case kRTarget:
        ok = in.number(values.r_target);
        break;
      case kFraudThreshold:
        ok = in.number(values.fraud_threshold);
        break;
      case kNInvalid:
        ok = in.count(values.n_invalid);
        break;
      case kProbabilityHonest:
        ok = in.number(values.probability_honest);
        break;
      case kFraudDetected:
        ok = in.boolean(values.fraud_detected);
        break;
      default:
        ok = false;
    }
    if (!ok) return false;
  } while (in.consume(','));
  return in.consume('}');
}

/// The batch when every field of `kind` is there and passes validateBatch's checks.
std::optional<Batch> finish(BatchKind kind, BatchValues&& values, unsigned seen) {
  const unsigned needed = kind == BatchKind::Generated ? kGeneratedFields : kValidatedFields;
  if ((seen & needed) != needed) return std::nullopt;
  if (values.nonces.size() != values.dist.size()) return std::nullopt;
  return batchFromValues(kind, values);
}

/// readJson's limits for a batch: a valid one holds three arrays of up to
/// `max_length` numbers, so an operator who raises max_batch_length past
/// about 160,000 must not find valid batches refused by the default value count.
plugin::JsonLimits batchJsonLimits(std::size_t max_length) {
  plugin::JsonLimits limits;
  // 1,024 is room for the other fields and the message around the batch.
  limits.max_values = std::max(limits.max_values, 3 * max_length + 1024);
  return limits;
}

/// The refusal the nlohmann path gives the batch (or its Batch).
std::variant<Batch, ParseError> validateJson(BatchKind kind, const Json& body, std::size_t max_length) {
  auto validated = validateBatch(kind, body, max_length);
  if (auto* error = std::get_if<BatchError>(&validated)) return ParseError{std::move(error->message)};
  return std::get<Batch>(std::move(validated));
}

}  // namespace

std::optional<BatchMessage> fastParseBatchMessage(std::string_view text, std::size_t max_length) {
  Reader in(text, max_length);
  if (!in.consume('{')) return std::nullopt;
  std::string_view type;
  std::string_view id;
  bool have_type = false, have_id = false, have_batch = false;
  BatchValues values;
  unsigned seen = 0;
  if (!in.consume('}')) {
    do {
      std::string_view key;
      if (!in.string(key) || !in.consume(':')) return std::nullopt;
      bool ok = true;
      if (key == "type") {
        ok = !have_type && in.string(type);
        have_type = true;
      } else if (key == "id") {
        ok = !have_id && in.string(id);
        have_id = true;
      } else if (key == "batch") {
        ok = !have_batch && readBatch(in, values, seen);
        have_batch = true;
      } else {
        ok = in.skipValue();
      }
      if (!ok) return std::nullopt;
    } while (in.consume(','));
    if (!in.consume('}')) return std::nullopt;
  }
  if (!in.atEnd() || !have_type || !have_id || id.empty() || !have_batch) return std::nullopt;
  const auto kind = parseKind(type);
  if (!kind) return std::nullopt;
  auto batch = finish(*kind, std::move(values), seen);
  if (!batch) return std::nullopt;
  return BatchMessage{*kind, std::string(id), std::move(*batch)};
}

std::optional<Batch> fastParseBatchBody(BatchKind kind, std::string_view text, std::size_t max_length) {
  Reader in(text, max_length);
  BatchValues values;
  unsigned seen = 0;
  if (!readBatch(in, values, seen) || !in.atEnd()) return std::nullopt;
  return finish(kind, std::move(values), seen);
}

std::variant<BatchMessage, ParseError> parseBatchMessage(std::string_view text, std::size_t max_length) {
  if (auto fast = fastParseBatchMessage(text, max_length)) return std::move(*fast);
  // The same checks, in the same order, as before the one-pass reader.
  const auto read = plugin::readJson(text, batchJsonLimits(max_length));
  if (!read.ok()) return ParseError{"not a JSON object: " + read.error, true};
  const auto& message = read.value;
  if (!message.is_object()) return ParseError{"not a JSON object", true};
  const auto type = message.find("type");
  const auto id = message.find("id");
  if (type == message.end() || !type->is_string()) return ParseError{"'type' must be generated or validated"};
  if (id == message.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return ParseError{"'id' must be a non-empty string"};
  }
  const auto kind = parseKind(type->get_ref<const std::string&>());
  if (!kind) return ParseError{"unknown type '" + type->get<std::string>().substr(0, 40) + "'"};
  const auto batch_field = message.find("batch");
  if (batch_field == message.end()) return ParseError{"'batch' is missing"};
  auto batch = validateJson(*kind, *batch_field, max_length);
  if (auto* error = std::get_if<ParseError>(&batch)) return std::move(*error);
  return BatchMessage{*kind, id->get<std::string>(), std::get<Batch>(std::move(batch))};
}

std::variant<Batch, ParseError> parseBatchBody(BatchKind kind, std::string_view text, std::size_t max_length) {
  if (auto fast = fastParseBatchBody(kind, text, max_length)) return std::move(*fast);
  const auto read = plugin::readJson(text, batchJsonLimits(max_length));
  if (!read.ok()) return ParseError{"the body is refused: " + read.error, true};
  return validateJson(kind, read.value, max_length);
}

}  // namespace eventnode::plugins::pow_batches
