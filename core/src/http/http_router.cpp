#include "http/http_router.hpp"

#include <algorithm>
#include <stdexcept>

namespace eventnode::core {
namespace {

bool isCapture(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool sameShape(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (isCapture(a[i]) != isCapture(b[i])) return false;
    if (!isCapture(a[i]) && a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const auto segment = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!segment.empty()) segments.push_back(segment);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return segments;
}

void HttpRouter::add(plugin::HttpRoute route, const std::string& owner) {
  const auto name = route.method + " " + route.path_pattern;
  if (frozen_)
    throw std::logic_error("route " + name + " from " + owner +
                           " registered after start(); register routes in start()");
  if (route.path_pattern.empty() || route.path_pattern.front() != '/') {
    throw std::logic_error("route " + name + " from " + owner + ": the path must start with /");
  }
  if (!route.handler) throw std::logic_error("route " + name + " from " + owner + " has no handler");
  auto segments = splitPath(route.path_pattern);
  for (const auto& existing : routes_) {
    if (existing.route.method == route.method && sameShape(existing.segments, segments)) {
      throw std::logic_error("route " + name + " from " + owner + " clashes with " + existing.route.method + " " +
                             existing.route.path_pattern + " from " + existing.owner);
    }
  }
  routes_.push_back(Route{std::move(route), owner, std::move(segments)});
}

HttpRouter::Lookup HttpRouter::find(const std::string& method, const std::string& path) const {
  Lookup result;
  const auto segments = splitPath(path);
  for (const auto& candidate : routes_) {
    if (candidate.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      const auto& pattern = candidate.segments[i];
      if (isCapture(pattern))
        params[pattern.substr(1, pattern.size() - 2)] = segments[i];
      else
        match = pattern == segments[i];
    }
    if (!match) continue;
    if (candidate.route.method != method) {
      const auto& allowed = result.allowed_methods;
      if (std::find(allowed.begin(), allowed.end(), candidate.route.method) == allowed.end()) {
        result.allowed_methods.push_back(candidate.route.method);
      }
      continue;
    }
    // Literal routes win over captures: /nodes/list beats /nodes/{id}.
    const auto captures = params.size();
    if (result.route == nullptr || captures < result.params.size()) {
      result.route = &candidate;
      result.params = std::move(params);
    }
  }
  if (result.route)
    result.outcome = Outcome::Found;
  else if (!result.allowed_methods.empty())
    result.outcome = Outcome::MethodNotAllowed;
  return result;
}

}  // namespace eventnode::core
