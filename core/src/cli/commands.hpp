#pragma once
// What each command line does; returns the process exit code.
#include "cli/cli_options.hpp"

namespace eventnode::core {

int runCommand(const CliOptions& options);

}  // namespace eventnode::core
