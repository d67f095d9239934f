// The pow_batches plugin: PoW batch intake from ML nodes over WebSocket and HTTP, recorded exactly once.
// Skeleton: it loads, reports itself and logs its lifecycle; its own issue fills it in.
#include <eventnode/plugin/export.hpp>

namespace eventnode::plugins::pow_batches {

class PowBatchesPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "pow_batches", .version = "0.1.0", .description = "PoW batch intake from ML nodes over WebSocket and HTTP, recorded exactly once"};
  }

  void start(plugin::Host& host) override {
    logger_ = host.logger();
    logger_->info("started node_id={}", host.nodeId());
  }

  void stop() override {
    if (logger_) logger_->info("stopped");
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace eventnode::plugins::pow_batches

EVENTNODE_PLUGIN(eventnode::plugins::pow_batches::PowBatchesPlugin)
