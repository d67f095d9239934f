#pragma once
// The core services a plugin's Host is a window onto. Owned by the Node.
#include "bus/event_bus.hpp"
#include "gateway/gateway.hpp"
#include "http/http_router.hpp"
#include "logging/log_registry.hpp"
#include "metrics/metric_registry.hpp"
#include "scheduler/scheduler.hpp"

#include <filesystem>
#include <string>

namespace eventnode::core {

struct CoreServices {
  LogRegistry& logs;
  EventBus& bus;
  Gateway& gateway;
  HttpRouter& router;
  Scheduler& scheduler;
  MetricRegistry& metrics;
  std::string node_id;
  std::filesystem::path data_dir;
};

}  // namespace eventnode::core
