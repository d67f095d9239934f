#include "metrics/metric_registry.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace eventnode::core {
namespace {

/// Label values escaped as the text format wants: backslash, quote, newline.
std::string escapeLabel(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

/// HELP text escaped: backslash and newline.
std::string escapeHelp(const std::string& help) {
  std::string out;
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string labelText(const plugin::MetricLabels& labels, const std::string& extra_name = {},
                      const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name + "=\"" + escapeLabel(value) + "\"";
  }
  if (!extra_name.empty()) {
    if (out.size() > 1) out += ',';
    out += extra_name + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

}  // namespace

bool isMetricName(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

MetricRegistry::Series* MetricRegistry::find(const std::string& owner, const std::string& name,
                                             const std::string& help, const std::string& type,
                                             const plugin::MetricLabels& labels, Family*& family) {
  if (!isMetricName(name)) throw std::invalid_argument("metric name '" + name + "' must match [a-zA-Z_][a-zA-Z0-9_]*");
  for (const auto& [label, value] : labels) {
    if (!isMetricName(label) || label.rfind("__", 0) == 0 || label == "le") {
      throw std::invalid_argument("metric " + name + ": label name '" + label +
                                  "' must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and not be le");
    }
  }
  auto [it, created] = families_.try_emplace(name, Family{owner, help, type, {}, {}});
  family = &it->second;
  if (!created && (family->type != type || family->owner != owner)) {
    throw std::invalid_argument("metric " + name + " is already a " + family->type + " of " + family->owner);
  }
  for (auto& series : family->series) {
    if (series.labels == labels) return &series;
  }
  return nullptr;
}

template <typename Metric>
std::shared_ptr<Metric> MetricRegistry::held(const std::string& owner, const std::string& name,
                                             const std::string& help, const char* type,
                                             const plugin::MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  Family* family = nullptr;
  if (auto* series = find(owner, name, help, type, labels, family)) {
    if (auto* existing = std::get_if<std::shared_ptr<Metric>>(&series->source)) return *existing;
    throw std::invalid_argument("metric " + name + " with these labels is read by a function, not held");
  }
  auto created = std::make_shared<Metric>();
  family->series.push_back({labels, created});
  return created;
}

std::shared_ptr<plugin::Counter> MetricRegistry::counter(const std::string& owner, const std::string& name,
                                                         const std::string& help, const plugin::MetricLabels& labels) {
  return held<plugin::Counter>(owner, name, help, "counter", labels);
}

std::shared_ptr<plugin::Gauge> MetricRegistry::gauge(const std::string& owner, const std::string& name,
                                                     const std::string& help, const plugin::MetricLabels& labels) {
  return held<plugin::Gauge>(owner, name, help, "gauge", labels);
}

std::shared_ptr<plugin::Histogram> MetricRegistry::histogram(const std::string& owner, const std::string& name,
                                                             const std::string& help, std::vector<double> bounds,
                                                             const plugin::MetricLabels& labels) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      throw std::invalid_argument("histogram " + name + ": bucket bounds must be finite and ascending");
    }
  }
  std::lock_guard lock(mutex_);
  Family* family = nullptr;
  auto* series = find(owner, name, help, "histogram", labels, family);
  if (family->series.empty() && !series) family->bounds = bounds;
  if (family->bounds != bounds) throw std::invalid_argument("histogram " + name + " already has other bucket bounds");
  if (series) return std::get<std::shared_ptr<plugin::Histogram>>(series->source);
  auto created = std::make_shared<plugin::Histogram>(std::move(bounds));
  family->series.push_back({labels, created});
  return created;
}

void MetricRegistry::observe(const std::string& owner, const std::string& name, const std::string& help,
                             plugin::MetricType type, const plugin::MetricLabels& labels,
                             std::function<double()> read) {
  if (!read) throw std::invalid_argument("metric " + name + " needs a reader");
  auto reader = std::make_shared<std::function<double()>>(std::move(read));
  std::lock_guard lock(mutex_);
  Family* family = nullptr;
  const auto* type_name = type == plugin::MetricType::Counter ? "counter" : "gauge";
  if (auto* series = find(owner, name, help, type_name, labels, family)) {
    series->source = reader;
    return;
  }
  family->series.push_back({labels, reader});
}

void MetricRegistry::removeOwner(const std::string& owner) {
  std::lock_guard lock(mutex_);
  std::erase_if(families_, [&](const auto& entry) { return entry.second.owner == owner; });
}

std::string MetricRegistry::render() const {
  std::map<std::string, Family> families;
  {
    std::lock_guard lock(mutex_);
    families = families_;  // shared pointers: the values are read outside the lock
  }
  std::string out;
  for (const auto& [name, family] : families) {
    if (family.series.empty()) continue;
    out += "# HELP " + name + " " + escapeHelp(family.help) + "\n# TYPE " + name + " " + family.type + "\n";
    for (const auto& series : family.series) {
      if (const auto* counter = std::get_if<std::shared_ptr<plugin::Counter>>(&series.source)) {
        out += name + labelText(series.labels) + " " + std::to_string((*counter)->value()) + "\n";
      } else if (const auto* gauge = std::get_if<std::shared_ptr<plugin::Gauge>>(&series.source)) {
        out += name + labelText(series.labels) + " " + number((*gauge)->value()) + "\n";
      } else if (const auto* reader = std::get_if<std::shared_ptr<std::function<double()>>>(&series.source)) {
        double value = std::numeric_limits<double>::quiet_NaN();
        try {
          value = (**reader)();
        } catch (...) {
          // A reader that fails shows as NaN rather than failing the whole scrape.
        }
        out += name + labelText(series.labels) + " " + number(value) + "\n";
      } else {
        const auto snapshot = std::get<std::shared_ptr<plugin::Histogram>>(series.source)->snapshot();
        for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
          const auto le = i < snapshot.bounds.size() ? number(snapshot.bounds[i]) : std::string("+Inf");
          out += name + "_bucket" + labelText(series.labels, "le", le) + " " +
                 std::to_string(snapshot.cumulative[i]) + "\n";
        }
        out += name + "_sum" + labelText(series.labels) + " " + number(snapshot.sum) + "\n";
        out += name + "_count" + labelText(series.labels) + " " + std::to_string(snapshot.count) + "\n";
      }
    }
  }
  return out;
}

}  // namespace eventnode::core
