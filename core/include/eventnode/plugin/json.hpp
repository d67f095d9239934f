#pragma once
/// The one JSON type of eventnode: nlohmann::json, used by the core and every
/// plugin, and the one way to read JSON that came from outside the process.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace eventnode::plugin {
using Json = nlohmann::json;

/// Bounds on JSON read from a client, a peer or an outside service.
struct JsonLimits {
  /// Arrays and objects nested deeper than this are refused. nlohmann's dump(),
  /// comparison and copy recurse once per level, so an unbounded depth is a
  /// stack overflow waiting for the first walk over the value.
  std::size_t max_depth = 64;
  /// Longer text is refused before a byte of it is parsed.
  std::size_t max_bytes = 16 * 1024 * 1024;
  /// Text holding more values than this is refused while it is parsed, before
  /// the tree grows past them. Every scalar, array, object and object key
  /// counts one. The byte limit alone does not bound memory: nlohmann spends
  /// 16 to about 100 bytes per value, and `[{},{},...]` holds a value every 3
  /// bytes, so 16 MB of it took some 500 MB. Counted, a tree costs at most
  /// about 100 bytes per value plus its strings' text (50 MB at the default),
  /// and the default is above every reader's need: pow's batches of 100,000
  /// are about 300,000 values, the other readers' stay under 50,000.
  std::size_t max_values = 500'000;
};

/// What readJson() gives back: the value, or a reason it was refused.
struct JsonRead {
  Json value;         ///< null when refused
  std::string error;  ///< empty when the text was read; otherwise says what is wrong and where
  bool ok() const { return error.empty(); }
};

namespace detail {

/// A SAX handler that builds the value with nlohmann's own DOM builder and
/// stops the parse at the first container past the depth limit, or at the
/// first value past the value limit, so a value over either is never built.
class LimitedBuilder {
 public:
  LimitedBuilder(Json& result, const JsonLimits& limits) : builder_(result, false), limits_(limits) {}

  bool null() { return count() && builder_.null(); }
  bool boolean(bool value) { return count() && builder_.boolean(value); }
  bool number_integer(Json::number_integer_t value) { return count() && builder_.number_integer(value); }
  bool number_unsigned(Json::number_unsigned_t value) { return count() && builder_.number_unsigned(value); }
  bool number_float(Json::number_float_t value, const Json::string_t& text) {
    return count() && builder_.number_float(value, text);
  }
  bool string(Json::string_t& value) { return count() && builder_.string(value); }
  bool binary(Json::binary_t& value) { return count() && builder_.binary(value); }
  // A key costs a map node (about 100 bytes) before its value does, so `{"a":0,"b":0,...}` counts twice per member.
  bool key(Json::string_t& value) { return count() && builder_.key(value); }
  bool start_object(std::size_t elements) { return count() && enter() && builder_.start_object(elements); }
  bool end_object() {
    --depth_;
    return builder_.end_object();
  }
  bool start_array(std::size_t elements) { return count() && enter() && builder_.start_array(elements); }
  bool end_array() {
    --depth_;
    return builder_.end_array();
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const nlohmann::detail::exception& /*error*/) {
    if (error_.empty()) {
      // nlohmann's message repeats the position and ends in the offending token; the byte offset is enough.
      error_ = "not valid JSON at byte " + std::to_string(position);
    }
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool enter() {
    if (++depth_ <= limits_.max_depth) return true;
    error_ = "JSON nested deeper than " + std::to_string(limits_.max_depth) + " levels";
    return false;
  }

  bool count() {
    if (++values_ <= limits_.max_values) return true;
    error_ = "JSON holds more than " + std::to_string(limits_.max_values) + " values";
    return false;
  }

  nlohmann::detail::json_sax_dom_parser<Json> builder_;
  const JsonLimits& limits_;
  std::size_t depth_ = 0;
  std::size_t values_ = 0;
  std::string error_;
};

}  // namespace detail

/// Parses JSON from an untrusted source in one pass. Text longer than
/// `limits.max_bytes` is refused before parsing; the parse stops at the first
/// array or object nested deeper than `limits.max_depth`, so every later
/// recursive walk over an accepted value is bounded, and at the first value
/// past `limits.max_values`, so the tree's memory is bounded too. Never throws
/// for bad input. Any thread.
inline JsonRead readJson(std::string_view text, const JsonLimits& limits = {}) {
  JsonRead read;
  if (text.size() > limits.max_bytes) {
    read.error = "JSON text of " + std::to_string(text.size()) + " bytes is over the limit of " +
                 std::to_string(limits.max_bytes);
    return read;
  }
  detail::LimitedBuilder builder(read.value, limits);
  const bool parsed = Json::sax_parse(text.begin(), text.end(), &builder);
  if (!parsed || !builder.error().empty()) {
    read.error = builder.error().empty() ? std::string("not valid JSON") : builder.error();
    read.value = nullptr;
  }
  return read;
}

}  // namespace eventnode::plugin
