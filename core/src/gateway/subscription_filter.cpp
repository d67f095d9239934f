#include "gateway/subscription_filter.hpp"

#include <stdexcept>

namespace eventnode::core {
namespace {

using plugin::Json;

constexpr std::size_t kMaxConditions = 32;
constexpr std::size_t kMaxValues = 256;

/// The event types of the meter's seed filter.
constexpr const char* kMeterEventTypes[] = {"MeterReadingReceived", "MeterReadingValidationFailed", "TokensMinted",
                                            "BatchMintingCompleted"};

bool isMeterEventType(const Json& type) {
  for (const char* known : kMeterEventTypes) {
    if (type == known) return true;
  }
  return false;
}

std::vector<std::string> splitPath(const std::string& dotted) {
  std::vector<std::string> path;
  std::size_t start = 0;
  while (true) {
    const auto dot = dotted.find('.', start);
    path.push_back(dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (path.back().empty()) throw std::invalid_argument("filter field '" + dotted + "' has an empty path segment");
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

const Json* lookup(const Json& data, const std::vector<std::string>& path) {
  const Json* node = &data;
  for (const auto& key : path) {
    if (!node->is_object()) return nullptr;
    const auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

}  // namespace

SubscriptionFilter SubscriptionFilter::parse(const Json& spec) {
  if (!spec.is_object()) throw std::invalid_argument("filter must be an object");
  SubscriptionFilter filter;
  std::size_t conditions = 0;
  for (const auto& [key, value] : spec.items()) {
    if (key == "event_types") {
      if (!value.is_array() || value.empty())
        throw std::invalid_argument("filter.event_types must be a non-empty list of strings");
      if (value.size() > kMaxValues) throw std::invalid_argument("filter.event_types has more than 256 entries");
      for (const auto& type : value) {
        if (!type.is_string()) throw std::invalid_argument("filter.event_types must be a non-empty list of strings");
        filter.event_types_.push_back(type);
      }
      ++conditions;
    } else if (key == "fields") {
      if (!value.is_object())
        throw std::invalid_argument("filter.fields must be an object of field: value or [values]");
      for (const auto& item : value.items()) {
        // Named, not a structured binding: lambdas may not capture bindings before clang 16.
        const auto& field = item.key();
        const auto& expected = item.value();
        Membership membership{splitPath(field), {}};
        const auto add = [&](const Json& v) {
          if (!v.is_primitive() || v.is_null()) {
            throw std::invalid_argument("filter.fields." + field +
                                        " must be a string, number or boolean, or a list of them");
          }
          membership.values.push_back(v);
        };
        if (expected.is_array()) {
          if (expected.empty() || expected.size() > kMaxValues) {
            throw std::invalid_argument("filter.fields." + field + " must list 1 to 256 values");
          }
          for (const auto& v : expected) add(v);
        } else {
          add(expected);
        }
        filter.fields_.push_back(std::move(membership));
        ++conditions;
      }
    } else if (key == "min" || key == "max") {
      if (!value.is_object()) throw std::invalid_argument("filter." + key + " must be an object of field: number");
      for (const auto& [field, bound] : value.items()) {
        if (!bound.is_number()) throw std::invalid_argument("filter." + key + "." + field + " must be a number");
        filter.bounds_.push_back({splitPath(field), bound.get<double>(), key == "min"});
        ++conditions;
      }
    } else if (key == "meters") {
      if (!value.is_array() || value.empty() || value.size() > kMaxValues)
        throw std::invalid_argument("filter.meters must be a list of 1 to 256 meter ids");
      for (const auto& meter : value) {
        if (!meter.is_string()) throw std::invalid_argument("filter.meters must be a list of 1 to 256 meter ids");
        filter.meters_.push_back(meter);
      }
      ++conditions;
    } else if (key == "min_amount") {
      if (!value.is_number()) throw std::invalid_argument("filter.min_amount must be a number (kWh)");
      filter.min_amount_ = value.get<double>();
      ++conditions;
    } else {
      throw std::invalid_argument("unknown filter key '" + key +
                                  "'; use event_types, fields, min, max (or the meter's event_types, meters, "
                                  "min_amount)");
    }
  }
  if (conditions > kMaxConditions) throw std::invalid_argument("filter has more than 32 conditions");
  bool meter_filter = !filter.meters_.empty() || filter.min_amount_.has_value();
  for (const auto& type : filter.event_types_) meter_filter = meter_filter || isMeterEventType(type);
  if (meter_filter) {
    for (const auto& type : filter.event_types_) {
      if (!isMeterEventType(type)) {
        throw std::invalid_argument("unknown event type '" + type.get<std::string>().substr(0, 64) +
                                    "' in a meter filter; use MeterReadingReceived, MeterReadingValidationFailed, "
                                    "TokensMinted, BatchMintingCompleted");
      }
    }
  }
  return filter;
}

bool SubscriptionFilter::matches(const Json& data) const {
  if (!event_types_.empty()) {
    const auto it = data.is_object() ? data.find("type") : data.end();
    if (it == data.end()) return false;
    bool found = false;
    for (const auto& type : event_types_) found = found || *it == type;
    if (!found) return false;
  }
  for (const auto& membership : fields_) {
    const auto* value = lookup(data, membership.path);
    if (!value) return false;
    bool found = false;
    for (const auto& expected : membership.values) found = found || *value == expected;
    if (!found) return false;
  }
  for (const auto& bound : bounds_) {
    const auto* value = lookup(data, bound.path);
    if (!value || !value->is_number()) return false;
    const auto number = value->get<double>();
    if (bound.is_min ? number < bound.value : number > bound.value) return false;
  }
  // The seed's meaning: a condition on a field the event does not carry holds.
  if (!meters_.empty() && data.is_object()) {
    const auto meter = data.find("meter_id");
    if (meter != data.end() && !meter->is_null()) {
      bool found = false;
      for (const auto& expected : meters_) found = found || *meter == expected;
      if (!found) return false;
    }
  }
  if (min_amount_ && data.is_object()) {
    const auto amount = data.find("kwh_amount");
    if (amount != data.end() && amount->is_number() && amount->get<double>() < *min_amount_) return false;
  }
  return true;
}

}  // namespace eventnode::core
