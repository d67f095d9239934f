#include "cli/cli_options.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace eventnode::core {
namespace {

using Args = std::vector<std::string>;

CliOptions parseOk(const Args& args) {
  std::string error;
  const auto options = parseCli(args, error);
  EXPECT_TRUE(options.has_value()) << "error: " << error;
  EXPECT_TRUE(error.empty()) << error;
  return options.value_or(CliOptions{});
}

std::string parseError(const Args& args) {
  std::string error;
  const auto options = parseCli(args, error);
  EXPECT_FALSE(options.has_value());
  EXPECT_FALSE(error.empty());
  return error;
}

std::string joined(const Args& args) {
  std::string text;
  for (const auto& arg : args) text += (text.empty() ? "" : " ") + arg;
  return text;
}

TEST(CliOptions, NoArgumentsRunsWithTheDefaultConfig) {
  const auto options = parseOk({});
  EXPECT_EQ(options.command, Command::Run);
  EXPECT_EQ(options.config, std::filesystem::path("/etc/eventnode/node.yaml"));
  EXPECT_TRUE(options.plugin_dirs.empty());
  EXPECT_TRUE(options.subject.empty());
  EXPECT_TRUE(options.roles.empty());
  EXPECT_EQ(options.ttl_seconds, 3600);
}

TEST(CliOptions, ConfigFlagSetsTheConfigFile) {
  for (const std::string flag : {"--config", "-c"}) {
    SCOPED_TRACE(flag);
    const auto options = parseOk({flag, "etc/dev.yaml"});
    EXPECT_EQ(options.command, Command::Run);
    EXPECT_EQ(options.config, std::filesystem::path("etc/dev.yaml"));
  }
}

TEST(CliOptions, CommandFlagsSelectTheirCommand) {
  struct Case {
    Args args;
    Command command;
  };
  const std::vector<Case> cases{
      {{"--check-config"}, Command::CheckConfig},
      {{"--config", "n.yaml", "--check-config"}, Command::CheckConfig},
      {{"--check-config", "--config", "n.yaml"}, Command::CheckConfig},
      {{"--list-plugins"}, Command::ListPlugins},
      {{"--config", "n.yaml", "--list-plugins"}, Command::ListPlugins},
      {{"--version"}, Command::Version},
      {{"--help"}, Command::Help},
      {{"-h"}, Command::Help},
      {{"--config", "n.yaml", "--help"}, Command::Help},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(joined(c.args));
    EXPECT_EQ(parseOk(c.args).command, c.command);
  }
}

TEST(CliOptions, ConfigIsKeptAlongsideCommandFlags) {
  const auto options = parseOk({"--config", "n.yaml", "--check-config"});
  EXPECT_EQ(options.config, std::filesystem::path("n.yaml"));
}

TEST(CliOptions, HelpWinsOverAnythingAfterIt) {
  EXPECT_EQ(parseOk({"--help", "--bogus"}).command, Command::Help);
  EXPECT_EQ(parseOk({"token", "--help"}).command, Command::Help);
}

TEST(CliOptions, PluginDirMayBeRepeatedAndKeepsOrder) {
  const auto options = parseOk({"--plugin-dir", "/opt/a", "--config", "n.yaml", "--plugin-dir", "rel/b"});
  EXPECT_EQ(options.command, Command::Run);
  EXPECT_EQ(options.plugin_dirs, (std::vector<std::filesystem::path>{"/opt/a", "rel/b"}));
}

TEST(CliOptions, TokenCommandReadsSubjectRolesAndTtl) {
  const auto options = parseOk({"token", "--sub", "x", "--role", "admin", "--ttl", "60"});
  EXPECT_EQ(options.command, Command::Token);
  EXPECT_EQ(options.subject, "x");
  EXPECT_EQ(options.roles, (std::vector<std::string>{"admin"}));
  EXPECT_EQ(options.ttl_seconds, 60);
}

TEST(CliOptions, TokenCommandAcceptsRepeatedRolesConfigAndDefaultTtl) {
  const auto options = parseOk({"token", "--role", "a", "--sub", "svc", "--config", "n.yaml", "--role", "b"});
  EXPECT_EQ(options.command, Command::Token);
  EXPECT_EQ(options.subject, "svc");
  EXPECT_EQ(options.roles, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(options.config, std::filesystem::path("n.yaml"));
  EXPECT_EQ(options.ttl_seconds, 3600);
}

TEST(CliOptions, TokenWithoutSubIsAnError) {
  for (const Args& args : {Args{"token"}, Args{"token", "--role", "admin"}, Args{"token", "--ttl", "60"}}) {
    SCOPED_TRACE(joined(args));
    EXPECT_NE(parseError(args).find("--sub"), std::string::npos);
  }
}

TEST(CliOptions, BadTtlIsAnErrorShowingTheValue) {
  for (const std::string ttl : {"abc", "0", "-5", "60s", "1.5", "", " 60", "99999999999999999999999"}) {
    SCOPED_TRACE("--ttl '" + ttl + "'");
    const auto error = parseError({"token", "--sub", "x", "--ttl", ttl});
    EXPECT_NE(error.find("--ttl"), std::string::npos) << error;
    EXPECT_NE(error.find("'" + ttl + "'"), std::string::npos) << error;
  }
}

TEST(CliOptions, FlagWithoutItsValueIsAnErrorNamingTheFlag) {
  const std::vector<std::pair<Args, std::string>> cases{
      {{"--config"}, "--config"},
      {{"-c"}, "-c"},
      {{"--plugin-dir"}, "--plugin-dir"},
      {{"token", "--sub"}, "--sub"},
      {{"token", "--sub", "x", "--role"}, "--role"},
      {{"token", "--sub", "x", "--ttl"}, "--ttl"},
  };
  for (const auto& [args, flag] : cases) {
    SCOPED_TRACE(joined(args));
    const auto error = parseError(args);
    EXPECT_NE(error.find(flag), std::string::npos) << error;
    EXPECT_NE(error.find("needs a value"), std::string::npos) << error;
  }
}

TEST(CliOptions, UnknownArgumentIsAnErrorNamingIt) {
  const std::vector<std::pair<Args, std::string>> cases{
      {{"--bogus"}, "--bogus"},        {{"--config", "n.yaml", "--verbose"}, "--verbose"}, {{"run"}, "run"},
      {{"--sub", "x"}, "--sub"},        // token-only flag outside `token`
      {{"--role", "admin"}, "--role"},  // token-only flag outside `token`
      {{"--ttl", "60"}, "--ttl"},       // token-only flag outside `token`
  };
  for (const auto& [args, unknown] : cases) {
    SCOPED_TRACE(joined(args));
    const auto error = parseError(args);
    EXPECT_NE(error.find("'" + unknown + "'"), std::string::npos) << error;
  }
}

TEST(CliOptions, RunOnlyFlagsAreUnknownForTheTokenCommand) {
  for (const std::string flag : {"--check-config", "--list-plugins", "--version", "--plugin-dir", "--bogus"}) {
    SCOPED_TRACE(flag);
    const auto error = parseError({"token", "--sub", "x", flag});
    EXPECT_NE(error.find("'" + flag + "'"), std::string::npos) << error;
    EXPECT_NE(error.find("token"), std::string::npos) << error;
  }
}

TEST(CliOptions, TokenIsOnlyACommandInFirstPosition) {
  const auto error = parseError({"--config", "n.yaml", "token"});
  EXPECT_NE(error.find("'token'"), std::string::npos) << error;
}

TEST(CliOptions, UsageTextMentionsEveryCommandAndTheExitCodes) {
  const auto text = usageText();
  for (const std::string word : {"--config", "--check-config", "--list-plugins", "--plugin-dir", "token", "--sub",
                                 "--role", "--ttl", "--version", "--help", "exit codes"}) {
    SCOPED_TRACE(word);
    EXPECT_NE(text.find(word), std::string::npos);
  }
}

}  // namespace
}  // namespace eventnode::core
