#include "config/schema_validator.hpp"

#include <cmath>
#include <set>
#include <utility>

namespace eventnode::core {
namespace {

using plugin::ConfigField;
using plugin::ConfigSchema;
using plugin::FieldType;

std::string joinPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string allowedKeys(const ConfigSchema& schema) {
  std::string text;
  for (const auto& field : schema) text += (text.empty() ? "" : ", ") + field.name;
  return text.empty() ? "(none)" : text;
}

std::string shown(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

bool isNumber(const YAML::Node& node, double& value) {
  if (!node.IsScalar()) return false;
  return YAML::convert<double>::decode(node, value) && std::isfinite(value);
}

bool isBoolean(const YAML::Node& node) {
  if (!node.IsScalar()) return false;
  bool value = false;
  return YAML::convert<bool>::decode(node, value);
}

YAML::Node validateValue(const YAML::Node& value, FieldType type, const ConfigField& field, const std::string& path,
                         std::vector<ConfigProblem>& problems);

YAML::Node validateItems(const YAML::Node& value, const ConfigField& field, const std::string& path,
                         std::vector<ConfigProblem>& problems) {
  YAML::Node result(field.type == FieldType::List ? YAML::NodeType::Sequence : YAML::NodeType::Map);
  if (field.type == FieldType::List) {
    std::size_t index = 0;
    for (const auto& item : value) {
      result.push_back(
          validateValue(item, field.item_type, field, path + "[" + std::to_string(index++) + "]", problems));
    }
  } else {
    for (const auto& entry : value) {
      const auto key = entry.first.Scalar();
      result[key] = validateValue(entry.second, field.item_type, field, joinPath(path, key), problems);
    }
  }
  return result;
}

YAML::Node validateValue(const YAML::Node& value, FieldType type, const ConfigField& field, const std::string& path,
                         std::vector<ConfigProblem>& problems) {
  const auto wrong = [&](const std::string& expected) {
    problems.push_back({path, lineOf(value), "expected " + expected + ", got " + shown(value)});
    return YAML::Clone(value);
  };
  // `type` is the field's own type, or its item type for List/Dictionary
  // items; the bounds, allowed values and nested fields of `field` apply to both.
  switch (type) {
    case FieldType::String: {
      if (!value.IsScalar()) return wrong("a string");
      if (!field.allowed.empty()) {
        bool ok = false;
        std::string options;
        for (const auto& allowed : field.allowed) {
          ok = ok || allowed == value.Scalar();
          options += (options.empty() ? "" : ", ") + allowed;
        }
        if (!ok) problems.push_back({path, lineOf(value), "'" + value.Scalar() + "' is not one of: " + options});
      }
      return YAML::Clone(value);
    }
    case FieldType::Integer:
    case FieldType::Number: {
      double number = 0;
      if (type == FieldType::Integer) {
        long long integer = 0;
        if (!value.IsScalar() || !YAML::convert<long long>::decode(value, integer))
          return wrong(plugin::describe(type));
        number = static_cast<double>(integer);  // as decoded: 0x50 and 017 are bounded by what they mean
      } else if (!isNumber(value, number)) {
        return wrong(plugin::describe(type));
      }
      if (field.minimum && number < *field.minimum) {
        problems.push_back(
            {path, lineOf(value), value.Scalar() + " is below the minimum " + YAML::Node(*field.minimum).Scalar()});
      }
      if (field.maximum && number > *field.maximum) {
        problems.push_back(
            {path, lineOf(value), value.Scalar() + " is above the maximum " + YAML::Node(*field.maximum).Scalar()});
      }
      return YAML::Clone(value);
    }
    case FieldType::Boolean:
      if (!isBoolean(value)) return wrong("a boolean (true/false)");
      return YAML::Clone(value);
    case FieldType::Map:
      if (!value.IsMap()) return wrong("a mapping");
      return validateAgainstSchema(value, field.fields, path, lineOf(value), problems);
    case FieldType::List:
      if (!value.IsSequence()) return wrong("a list");
      return validateItems(value, field, path, problems);
    case FieldType::Dictionary:
      if (!value.IsMap()) return wrong("a mapping");
      return validateItems(value, field, path, problems);
  }
  return YAML::Clone(value);
}

}  // namespace

int lineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

int lineOfKey(const YAML::Node& root, const std::string& key_path) {
  // Walked with copies: YAML::Node's operator= on a reference would overwrite the node itself.
  YAML::Node node = root;
  int line = lineOf(root);
  std::size_t at = 0;
  while (at < key_path.size() && node.IsDefined()) {
    YAML::Node next;
    if (key_path[at] == '[') {
      const auto close = key_path.find(']', at);
      if (close == std::string::npos || !node.IsSequence()) break;
      std::size_t index = 0;
      try {
        index = std::stoul(key_path.substr(at + 1, close - at - 1));
      } catch (const std::exception&) {
        break;
      }
      if (index >= node.size()) break;
      next = std::as_const(node)[index];
      at = close + 1;
    } else {
      if (key_path[at] == '.') ++at;
      const auto end = key_path.find_first_of(".[", at);
      const auto key = key_path.substr(at, end == std::string::npos ? std::string::npos : end - at);
      if (!node.IsMap() || !std::as_const(node)[key]) break;
      next = std::as_const(node)[key];
      at = end == std::string::npos ? key_path.size() : end;
    }
    if (lineOf(next) > 0) line = lineOf(next);
    node.reset(next);
  }
  return line;
}

YAML::Node validateAgainstSchema(const YAML::Node& input, const ConfigSchema& schema, const std::string& path,
                                 int parent_line, std::vector<ConfigProblem>& problems) {
  YAML::Node result(YAML::NodeType::Map);
  if (input.IsDefined() && !input.IsNull() && !input.IsMap()) {
    problems.push_back({path, lineOf(input), "expected a mapping with keys: " + allowedKeys(schema)});
    return result;
  }
  std::set<std::string> known;
  for (const auto& field : schema) {
    known.insert(field.name);
    const YAML::Node value = input.IsMap() ? input[field.name] : YAML::Node{};
    const auto field_path = joinPath(path, field.name);
    if (!value.IsDefined() || value.IsNull()) {
      if (field.required) {
        problems.push_back({field_path, parent_line, "missing required key (" + field.description + ")"});
      } else if (field.default_value.IsDefined() && !field.default_value.IsNull()) {
        result[field.name] = YAML::Clone(field.default_value);
      } else if (field.type == FieldType::Map) {
        result[field.name] = validateAgainstSchema(YAML::Node{}, field.fields, field_path, parent_line, problems);
      } else if (field.type == FieldType::List) {
        result[field.name] = YAML::Node(YAML::NodeType::Sequence);
      } else if (field.type == FieldType::Dictionary) {
        result[field.name] = YAML::Node(YAML::NodeType::Map);
      }
      continue;
    }
    result[field.name] = validateValue(value, field.type, field, field_path, problems);
  }
  if (input.IsMap()) {
    for (const auto& entry : input) {
      const auto key = entry.first.Scalar();
      if (!known.count(key)) {
        problems.push_back(
            {joinPath(path, key), lineOf(entry.first), "unknown key; allowed keys: " + allowedKeys(schema)});
      }
    }
  }
  return result;
}

}  // namespace eventnode::core
