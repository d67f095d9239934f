#pragma once
// The gateway's HTTP API: publish, broadcast, connection stats and metrics.
#include "gateway/gateway.hpp"
#include "http/http_router.hpp"
#include "metrics/metric_registry.hpp"

namespace eventnode::core {

/// The gateway's HTTP API: publish, broadcast, connections, and /metrics (the
/// gateway's figures, the bus's, and the plugins' own).
void addGatewayRoutes(HttpRouter& router, Gateway& gateway, const EventBus& bus, const MetricRegistry& metrics);

}  // namespace eventnode::core
