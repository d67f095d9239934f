#include "config/env_expansion.hpp"

#include "config/schema_validator.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace eventnode::core {
namespace {

bool isVariableName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

/// The expansion of one scalar, or the reason it has none.
struct Expansion {
  std::string value;
  std::vector<std::string> sources;
  std::string error;
};

Expansion expandText(const std::string& text, const EnvironmentLookup& lookup) {
  Expansion out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto dollar = text.find('$', at);
    if (dollar == std::string::npos) {
      out.value += text.substr(at);
      break;
    }
    out.value += text.substr(at, dollar - at);
    if (text.compare(dollar, 3, "$${") == 0) {  // an escaped ${
      out.value += "${";
      at = dollar + 3;
      continue;
    }
    if (text.compare(dollar, 2, "${") != 0) {
      out.value += '$';
      at = dollar + 1;
      continue;
    }
    const auto close = text.find('}', dollar + 2);
    if (close == std::string::npos) {
      out.error = "'${' at character " + std::to_string(dollar + 1) + " is not closed with '}'";
      return out;
    }
    const auto inner = text.substr(dollar + 2, close - dollar - 2);
    const auto separator = inner.find(":-");
    const auto name = inner.substr(0, separator);
    if (!isVariableName(name)) {
      out.error = "'${" + inner + "}' does not name an environment variable (letters, digits and _)";
      return out;
    }
    const char* value = lookup(name);
    if (separator == std::string::npos) {
      if (!value) {
        out.error = "environment variable " + name + " is not set, and ${" + name +
                    "} has no default; set it, or write ${" + name + ":-default}";
        return out;
      }
      out.value += value;
      out.sources.push_back("$" + name);
    } else if (value && *value) {
      out.value += value;
      out.sources.push_back("$" + name);
    } else {
      out.value += inner.substr(separator + 2);
      out.sources.push_back("the default of $" + name + (value ? " (empty)" : " (unset)"));
    }
    at = close + 1;
  }
  return out;
}

}  // namespace

bool isSecretKey(const std::string& path) {
  const auto last = path.substr(path.find_last_of('.') == std::string::npos ? 0 : path.find_last_of('.') + 1);
  for (const char* word : {"secret", "password", "key", "token"}) {
    if (last.find(word) != std::string::npos) return true;
  }
  return false;
}

void expandEnvironment(YAML::Node& root, std::vector<ExpandedValue>& expanded, std::vector<ConfigProblem>& problems,
                       const EnvironmentLookup& lookup) {
  // Walked with an explicit stack: a config file is trusted, but depth should not be the file's to choose.
  std::vector<std::pair<YAML::Node, std::string>> pending{{root, ""}};
  while (!pending.empty()) {
    auto [node, path] = std::move(pending.back());
    pending.pop_back();
    if (node.IsMap()) {
      for (auto entry : node) {
        const auto key = entry.first.as<std::string>("");
        pending.emplace_back(entry.second, path.empty() ? key : path + "." + key);
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) pending.emplace_back(node[i], path + "[" + std::to_string(i) + "]");
    } else if (node.IsScalar()) {
      const auto written = node.Scalar();
      if (written.find('$') == std::string::npos) continue;
      auto expansion = expandText(written, lookup);
      if (!expansion.error.empty()) {
        problems.push_back({path, lineOf(node), expansion.error});
        continue;
      }
      if (expansion.sources.empty() && expansion.value == written) continue;
      node = expansion.value;  // assigns the node's value: its mark, and so its line, stay
      expanded.push_back({path, lineOf(node), written, expansion.value, std::move(expansion.sources)});
    }
  }
  std::sort(expanded.begin(), expanded.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
}

}  // namespace eventnode::core
