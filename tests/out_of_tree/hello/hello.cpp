// The out-of-tree example of docs/plugins.md: answers GET /hello with its configured greeting.
#include <eventnode/plugin/export.hpp>

class HelloPlugin final : public eventnode::plugin::Plugin {
 public:
  eventnode::plugin::PluginInfo info() const override { return {.name = "hello", .version = "1.0.0"}; }

  eventnode::plugin::ConfigSchema configSchema() const override {
    return {{.name = "greeting", .description = "what GET /hello answers", .default_value = YAML::Node("hi")}};
  }

  void configure(const YAML::Node& config) override { greeting_ = config["greeting"].as<std::string>(); }

  void start(eventnode::plugin::Host& host) override {
    host.addHttpRoute(
        {"GET", "/hello", eventnode::plugin::RouteAccess::Public, [this](const eventnode::plugin::HttpRequest&) {
           return eventnode::plugin::HttpResponse::json(200, {{"greeting", greeting_}});
         }});
    host.logger()->info("ready greeting={}", greeting_);
  }

  void stop() override {}

 private:
  std::string greeting_;
};

EVENTNODE_PLUGIN(HelloPlugin)
