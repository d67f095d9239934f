#pragma once
// A subscription's filter, as data (like Centrifugo's tag filters): event
// types, field equality or membership, and numeric bounds. Parsed once when
// the client subscribes; evaluated per event without allocating.
//
//   {"event_types": ["TokensMinted"],             // data.type is one of these
//    "fields": {"meter_id": ["m-1", "m-2"],       // equal to the value, or one of the list
//               "owner.region": "north"},         // dotted paths reach into objects
//    "min": {"amount": 1000}, "max": {"amount": 5000}}   // numeric bounds, inclusive
#include <eventnode/plugin/json.hpp>

#include <string>
#include <vector>

namespace eventnode::core {

class SubscriptionFilter {
 public:
  /// Parses a filter; throws std::invalid_argument naming what is wrong.
  static SubscriptionFilter parse(const plugin::Json& spec);

  /// Whether an event's data passes every condition. An event lacking a
  /// filtered field does not pass.
  bool matches(const plugin::Json& data) const;

 private:
  using Path = std::vector<std::string>;
  struct Membership {
    Path path;
    std::vector<plugin::Json> values;
  };
  struct Bound {
    Path path;
    double value;
    bool is_min;
  };

  std::vector<plugin::Json> event_types_;
  std::vector<Membership> fields_;
  std::vector<Bound> bounds_;
};

}  // namespace eventnode::core
