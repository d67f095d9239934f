#pragma once
// The schema of node.yaml's core sections (everything but `plugins`), written
// with the same ConfigSchema type plugins use, so both are checked alike.
#include <eventnode/plugin/config_schema.hpp>

namespace eventnode::core {

plugin::ConfigSchema coreConfigSchema();

}  // namespace eventnode::core
