// The meter plugin: energy meter readings, validation and token minting events.
// Skeleton: it loads, reports itself and logs its lifecycle; its own issue fills it in.
#include <eventnode/plugin/export.hpp>

namespace eventnode::plugins::meter {

class MeterPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "meter",
            .version = "0.1.0",
            .description = "energy meter readings, validation and token minting events"};
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

}  // namespace eventnode::plugins::meter

EVENTNODE_PLUGIN(eventnode::plugins::meter::MeterPlugin)
