#pragma once
/// ConfigBinding: a plugin's config declared once. Each key names the member
/// of the plugin's own settings struct it fills; the binding produces the
/// schema the host validates (types from the members, defaults from the
/// struct's default member initializers) and, in configure(), reads the
/// validated YAML into the struct. No key is written twice.
///
///   struct Settings { std::string url = "ws://127.0.0.1:8900"; std::chrono::milliseconds timeout{500}; };
///   ConfigBinding<Settings> binding() {
///     ConfigBinding<Settings> b;
///     b.field("url", &Settings::url, "where to connect");
///     b.duration<std::chrono::milliseconds>("timeout_ms", &Settings::timeout, "how long to wait").minimum(10);
///     return b;
///   }
///
/// A key is bound to a data member pointer, or to a function that returns a
/// reference into the struct (`[](Settings& s) -> auto& { return s.pubsub.url; }`)
/// when the YAML is flatter than the struct.
///   ConfigSchema configSchema() const override { return binding().schema(); }
///   void configure(const YAML::Node& yaml) override { settings_ = binding().read(yaml); }
#include <eventnode/plugin/config_schema.hpp>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace eventnode::plugin {

namespace detail {

template <typename T>
struct IsDuration : std::false_type {};
template <typename Rep, typename Period>
struct IsDuration<std::chrono::duration<Rep, Period>> : std::true_type {};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

/// The schema type of a scalar member type.
template <typename Value>
constexpr FieldType scalarType() {
  if constexpr (std::is_same_v<Value, bool>) {
    return FieldType::Boolean;
  } else if constexpr (std::is_integral_v<Value> || IsDuration<Value>::value) {
    return FieldType::Integer;
  } else if constexpr (std::is_floating_point_v<Value>) {
    return FieldType::Number;
  } else {
    static_assert(std::is_same_v<Value, std::string>, "bind std::string, bool, numbers, durations or vectors of them");
    return FieldType::String;
  }
}

template <typename Value>
YAML::Node toYaml(const Value& value) {
  if constexpr (IsDuration<Value>::value) {
    return YAML::Node(static_cast<long long>(value.count()));
  } else if constexpr (IsVector<Value>::value) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto& item : value) list.push_back(toYaml(item));
    return list;
  } else {
    return YAML::Node(value);
  }
}

/// The type a key's accessor (a member pointer or a function) gives a reference to.
template <typename Settings, typename Access>
using Bound = std::remove_cvref_t<std::invoke_result_t<Access, Settings&>>;

template <typename Value>
Value fromYaml(const YAML::Node& node) {
  if constexpr (IsDuration<Value>::value) {
    return Value(node.as<long long>());
  } else if constexpr (IsVector<Value>::value) {
    Value list;
    for (const auto& item : node) list.push_back(fromYaml<typename Value::value_type>(item));
    return list;
  } else {
    return node.as<Value>();
  }
}

}  // namespace detail

template <typename Settings>
class ConfigBinding {
 public:
  /// Refines the key just bound; returned by field(), list() and map().
  class Key {
   public:
    Key(ConfigBinding& binding, std::size_t index) : binding_(binding), index_(index) {}
    Key& minimum(double value) {
      field().minimum = value;
      return *this;
    }
    Key& maximum(double value) {
      field().maximum = value;
      return *this;
    }
    Key& allowed(std::vector<std::string> values) {
      field().allowed = std::move(values);
      return *this;
    }
    /// The key must be present (its struct default is then not offered as a default).
    Key& required() {
      field().required = true;
      field().default_value = YAML::Node();
      return *this;
    }

   private:
    ConfigField& field() { return binding_.keys_[index_].field; }
    ConfigBinding& binding_;
    std::size_t index_;
  };

  /// A scalar key (string, bool, integer, floating point) or a list of
  /// scalars (std::vector<std::string>, std::vector<int>, …).
  template <typename Access>
  Key field(std::string name, Access access, std::string description) {
    using Value = detail::Bound<Settings, Access>;
    static_assert(!detail::IsDuration<Value>::value, "bind a duration with duration<Unit>(): the key names its unit");
    ConfigField field{.name = std::move(name), .description = std::move(description)};
    if constexpr (detail::IsVector<Value>::value) {
      field.type = FieldType::List;
      field.item_type = detail::scalarType<typename Value::value_type>();
    } else {
      field.type = detail::scalarType<Value>();
    }
    Settings defaults{};
    field.default_value = detail::toYaml(std::invoke(access, defaults));
    return add(std::move(field), [access](const YAML::Node& node, Settings& settings) {
      std::invoke(access, settings) = detail::fromYaml<Value>(node);
    });
  }

  /// A duration key whose YAML value is a count of `Unit` (`_ms` keys:
  /// std::chrono::milliseconds), whatever duration type the member has.
  template <typename Unit, typename Access>
  Key duration(std::string name, Access access, std::string description) {
    using Value = detail::Bound<Settings, Access>;
    static_assert(detail::IsDuration<Value>::value && detail::IsDuration<Unit>::value, "durations only");
    ConfigField field{.name = std::move(name), .type = FieldType::Integer, .description = std::move(description)};
    Settings defaults{};
    field.default_value = detail::toYaml(std::chrono::duration_cast<Unit>(std::invoke(access, defaults)));
    return add(std::move(field), [access](const YAML::Node& node, Settings& settings) {
      std::invoke(access, settings) = std::chrono::duration_cast<Value>(Unit(node.as<long long>()));
    });
  }

  /// A list of mappings, each read into an Item by `items`. Its default is the
  /// struct's (usually empty) list.
  template <typename Access, typename Item = typename detail::Bound<Settings, Access>::value_type>
  Key list(std::string name, Access access, std::string description, ConfigBinding<Item> items) {
    ConfigField field{.name = std::move(name),
                      .type = FieldType::List,
                      .description = std::move(description),
                      .default_value = YAML::Node(YAML::NodeType::Sequence),
                      .item_type = FieldType::Map,
                      .fields = items.schema()};
    auto shared = std::make_shared<const ConfigBinding<Item>>(std::move(items));
    return add(std::move(field), [access, shared](const YAML::Node& node, Settings& settings) {
      auto& list = std::invoke(access, settings);
      list.clear();
      for (const auto& item : node) list.push_back(shared->read(item));
    });
  }

  /// A nested mapping read into a member struct by `nested`; absent, every
  /// nested key takes its default. It has no default of its own, so the host
  /// fills in and checks the nested keys (a required one among them too).
  template <typename Access, typename Nested = detail::Bound<Settings, Access>>
  Key map(std::string name, Access access, std::string description, ConfigBinding<Nested> nested) {
    ConfigField field{.name = std::move(name),
                      .type = FieldType::Map,
                      .description = std::move(description),
                      .fields = nested.schema()};
    auto shared = std::make_shared<const ConfigBinding<Nested>>(std::move(nested));
    return add(std::move(field), [access, shared](const YAML::Node& node, Settings& settings) {
      std::invoke(access, settings) = shared->read(node);
    });
  }

  /// The keys, for Plugin::configSchema().
  ConfigSchema schema() const {
    ConfigSchema schema;
    for (const auto& key : keys_) schema.push_back(key.field);
    return schema;
  }

  /// The settings from YAML the host validated against schema() (so every
  /// key is present or defaulted, with the right type); absent keys keep the
  /// struct's defaults. Throws YAML::Exception only for YAML that was not validated.
  Settings read(const YAML::Node& yaml) const {
    Settings settings{};
    for (const auto& key : keys_) {
      const auto node = yaml[key.field.name];
      if (node && !node.IsNull()) key.read(node, settings);
    }
    return settings;
  }

 private:
  struct BoundKey {
    ConfigField field;
    std::function<void(const YAML::Node&, Settings&)> read;
  };

  Key add(ConfigField field, std::function<void(const YAML::Node&, Settings&)> read) {
    keys_.push_back({std::move(field), std::move(read)});
    return Key(*this, keys_.size() - 1);
  }

  std::vector<BoundKey> keys_;
};

}  // namespace eventnode::plugin
