// The solana_listener plugin: Solana program logs through PubSub with reconnect, backfill and dedup.
// Skeleton: it loads, reports itself and logs its lifecycle; its own issue fills it in.
#include <eventnode/plugin/export.hpp>

namespace eventnode::plugins::solana_listener {

class SolanaListenerPlugin final : public plugin::Plugin {
 public:
  plugin::PluginInfo info() const override {
    return {.name = "solana_listener",
            .version = "0.1.0",
            .description = "Solana program logs through PubSub with reconnect, backfill and dedup"};
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

}  // namespace eventnode::plugins::solana_listener

EVENTNODE_PLUGIN(eventnode::plugins::solana_listener::SolanaListenerPlugin)
