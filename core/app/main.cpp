// The eventnode executable: parses the command line and runs the command.
#include "cli/cli_options.hpp"
#include "cli/commands.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace eventnode::core;
  std::string error;
  const auto options = parseCli(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!options) {
    std::cerr << "eventnode: " << error << "\n\n" << usageText();
    return kExitUsage;
  }
  return runCommand(*options);
}
