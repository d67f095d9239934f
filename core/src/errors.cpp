#include "errors.hpp"

namespace eventnode::core {
namespace {

std::string joinProblems(const std::string& file, const std::vector<ConfigProblem>& problems) {
  std::string text;
  for (const auto& problem : problems) {
    if (!text.empty()) text += '\n';
    text += problem.format(file);
  }
  return text;
}

}  // namespace

std::string ConfigProblem::format(const std::string& file) const {
  std::string text = file;
  if (line > 0) text.append(":").append(std::to_string(line));
  text.append(": ");
  if (!path.empty()) text.append(path).append(": ");
  return text.append(message);
}

ConfigError::ConfigError(std::string file, std::vector<ConfigProblem> problems)
    : std::runtime_error(joinProblems(file, problems)), problems_(std::move(problems)) {}

}  // namespace eventnode::core
