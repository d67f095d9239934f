// The utxo plugin: TIME Coin UTXO state protocol: wallet notifications, masternode votes, instant finality.
// Skeleton: it loads, reports itself and logs its lifecycle; its own issue fills it in.
#include <eventnode/plugin/export.hpp>

namespace eventnode::plugins::utxo {

class UtxoPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "utxo",
            .version = "0.1.0",
            .description = "TIME Coin UTXO state protocol: wallet notifications, masternode votes, instant finality"};
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

}  // namespace eventnode::plugins::utxo

EVENTNODE_PLUGIN(eventnode::plugins::utxo::UtxoPlugin)
