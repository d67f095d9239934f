#pragma once
/// The one JSON type of eventnode: nlohmann::json, used by the core and every plugin.
#include <nlohmann/json.hpp>

namespace eventnode::plugin {
using Json = nlohmann::json;
}  // namespace eventnode::plugin
