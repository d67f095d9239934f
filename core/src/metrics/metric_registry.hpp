#pragma once
// The metrics plugins register through their Host, rendered on GET /metrics
// after the gateway's and the bus's. Families are keyed by their full name
// (eventnode_<plugin>_<name>); each owner's are dropped when it stops.
#include <eventnode/plugin/metrics.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

namespace eventnode::core {

class MetricRegistry {
 public:
  /// Each returns the series of this name and labels, created on first use.
  /// Throws std::invalid_argument for a bad name or label name, or a name
  /// that already has another type (or, for a histogram, other bounds).
  std::shared_ptr<plugin::Counter> counter(const std::string& owner, const std::string& name, const std::string& help,
                                           const plugin::MetricLabels& labels);
  std::shared_ptr<plugin::Gauge> gauge(const std::string& owner, const std::string& name, const std::string& help,
                                       const plugin::MetricLabels& labels);
  std::shared_ptr<plugin::Histogram> histogram(const std::string& owner, const std::string& name,
                                               const std::string& help, std::vector<double> bounds,
                                               const plugin::MetricLabels& labels);
  /// A series whose value `read` gives at render time; replaces an earlier reader of the same name and labels.
  void observe(const std::string& owner, const std::string& name, const std::string& help, plugin::MetricType type,
               const plugin::MetricLabels& labels, std::function<double()> read);

  /// Forgets every family `owner` registered (its plugin stopped).
  void removeOwner(const std::string& owner);

  /// Prometheus text exposition: HELP and TYPE once per family, then its series.
  /// Readers run outside the registry's lock; one that throws renders as NaN.
  std::string render() const;

 private:
  using Source = std::variant<std::shared_ptr<plugin::Counter>, std::shared_ptr<plugin::Gauge>,
                              std::shared_ptr<plugin::Histogram>, std::shared_ptr<std::function<double()>>>;
  struct Series {
    plugin::MetricLabels labels;
    Source source;
  };
  struct Family {
    std::string owner;
    std::string help;
    std::string type;  ///< counter, gauge or histogram
    std::vector<double> bounds;
    std::vector<Series> series;
  };

  /// A counter or gauge the registry holds (not read by a function), created on first use.
  template <typename Metric>
  std::shared_ptr<Metric> held(const std::string& owner, const std::string& name, const std::string& help,
                               const char* type, const plugin::MetricLabels& labels);
  /// The family, created or checked against `type`, and the series of `labels` in it (null when new).
  Series* find(const std::string& owner, const std::string& name, const std::string& help, const std::string& type,
               const plugin::MetricLabels& labels, Family*& family);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

/// True for a Prometheus metric or label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool isMetricName(const std::string& name);

}  // namespace eventnode::core
