#pragma once
/// A plugin's config schema: the keys it accepts under `plugins[].config`,
/// each with a type, default and description. The host validates the YAML
/// against it before configure() and fills in the defaults.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

namespace eventnode::plugin {

enum class FieldType {
  String,
  Integer,
  Number,  ///< integer or floating point
  Boolean,
  List,        ///< a sequence whose items have `item_type` (and `fields` when items are maps)
  Map,         ///< a mapping with exactly the keys in `fields`
  Dictionary,  ///< a mapping with free keys whose values have `item_type`
};

struct ConfigField {
  std::string name{};
  FieldType type = FieldType::String;
  std::string description{};
  /// Used when the key is absent; a null node means "no default".
  YAML::Node default_value{};
  bool required = false;
  /// For List and Dictionary: the type of each item or value.
  FieldType item_type = FieldType::String;
  /// For Map, and for List/Dictionary whose items are maps: the nested keys.
  std::vector<ConfigField> fields{};
  /// For String: the only values accepted (empty = any).
  std::vector<std::string> allowed{};
  /// For Integer and Number: inclusive bounds.
  std::optional<double> minimum{};
  std::optional<double> maximum{};
};

using ConfigSchema = std::vector<ConfigField>;

/// Human name of a type, as used in config error messages ("an integer").
inline const char* describe(FieldType type) {
  switch (type) {
    case FieldType::String:
      return "a string";
    case FieldType::Integer:
      return "an integer";
    case FieldType::Number:
      return "a number";
    case FieldType::Boolean:
      return "a boolean (true/false)";
    case FieldType::List:
      return "a list";
    case FieldType::Map:
      return "a mapping";
    case FieldType::Dictionary:
      return "a mapping";
  }
  return "a value";
}

}  // namespace eventnode::plugin
