#pragma once
// The gateway's HTTP API: publish, broadcast, connection stats and metrics.
#include "gateway/gateway.hpp"
#include "http/http_router.hpp"

namespace eventnode::core {

void addGatewayRoutes(HttpRouter& router, Gateway& gateway);

}  // namespace eventnode::core
