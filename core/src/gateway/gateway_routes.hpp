#pragma once
// The gateway's HTTP API: publish, broadcast, connection stats and metrics.
#include "gateway/gateway.hpp"
#include "http/http_router.hpp"

namespace eventnode::core {

/// The gateway's HTTP API: publish, broadcast, connections, and /metrics (the gateway's and the bus's figures).
void addGatewayRoutes(HttpRouter& router, Gateway& gateway, const EventBus& bus);

}  // namespace eventnode::core
