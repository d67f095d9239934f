#pragma once
// A subscription's filter, as data (like Centrifugo's tag filters): event
// types, field equality or membership, and numeric bounds. Parsed once when
// the client subscribes; evaluated per event without allocating.
//
//   {"event_types": ["TokensMinted"],             // data.type is one of these
//    "fields": {"meter_id": ["m-1", "m-2"],       // equal to the value, or one of the list
//               "owner.region": "north"},         // dotted paths reach into objects
//    "min": {"amount": 1000}, "max": {"amount": 5000}}   // numeric bounds, inclusive
//
// And the meter's filter as its seed (GridTokenX) defines it, where a
// condition applies only to events that carry its field:
//
//   {"event_types": ["TokensMinted"],  "meters": ["m-1"],  "min_amount": 2.5}
//
// `meters` holds for an event without a meter_id (or a null one), and
// `min_amount` (kWh) for one without a numeric kwh_amount: a TokensMinted
// covering several meters and a BatchMintingCompleted pass both. A filter that
// names a meter event type or uses these keys is a meter filter: each of its
// event types must be a meter event's, or it is refused naming the unknown one.
// The keys are new, so no filter that parsed before means anything else now.
#include <eventnode/plugin/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace eventnode::core {

class SubscriptionFilter {
 public:
  /// Parses a filter; throws std::invalid_argument naming what is wrong.
  static SubscriptionFilter parse(const plugin::Json& spec);

  /// Whether an event's data passes every condition. An event lacking a
  /// field of `fields`, `min` or `max` does not pass; one lacking the field of
  /// `meters` or `min_amount` does.
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
  std::vector<plugin::Json> meters_;  // empty: no meter condition
  std::optional<double> min_amount_;
};

}  // namespace eventnode::core
