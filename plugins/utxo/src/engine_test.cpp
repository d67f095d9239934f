#include "engine.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <stdexcept>
#include <string>

namespace eventnode::plugins::utxo {
namespace {

const std::string kGenesis(64, '0');

class EngineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Engine> makeEngine() {
    auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    LedgerConfig config{.self_id = "mn1", .masternodes = {"mn1", "mn2", "mn3", "mn4"}};
    return std::make_unique<Engine>(std::make_unique<Ledger>(config, logger),
                                    std::make_unique<LedgerStore>(dir_.path() / "utxo.sqlite", false), logger,
                                    [](const Effects&) {});
  }
  test_support::TempDir dir_{"utxo-engine"};
};

TEST_F(EngineTest, WaitCommittedReturnsOnceEverythingQueuedBeforeIsSaved) {
  auto engine = makeEngine();
  engine->start();
  // Queued, not waited for: what a P2P reader does with a peer's messages.
  for (std::uint32_t vout = 0; vout < 50; ++vout) {
    engine->postDetached([vout](Ledger& ledger, Effects& effects, std::int64_t) {
      ledger.seed({{{kGenesis, vout}, "TIME0alice", 10, {}}}, effects);
    });
  }
  EXPECT_TRUE(engine->waitCommitted());
  EXPECT_EQ(engine->read([](const Ledger& ledger) { return ledger.utxosCount(); }), 50u);
  engine.reset();  // the store holds the file with an exclusive lock until it closes

  // Saved, not just applied: a new engine on the same file sees all of them.
  auto reopened = makeEngine();
  EXPECT_EQ(reopened->read([](const Ledger& ledger) { return ledger.utxosCount(); }), 50u);
}

TEST_F(EngineTest, ADetachedCommandThatThrowsLeavesTheOthersSaved) {
  auto engine = makeEngine();
  engine->start();
  engine->postDetached([](Ledger& ledger, Effects& effects, std::int64_t) {
    ledger.seed({{{kGenesis, 0}, "TIME0alice", 10, {}}}, effects);
  });
  engine->postDetached([](Ledger&, Effects&, std::int64_t) { throw std::runtime_error("bad command"); });
  engine->postDetached([](Ledger& ledger, Effects& effects, std::int64_t) {
    ledger.seed({{{kGenesis, 1}, "TIME0alice", 10, {}}}, effects);
  });
  EXPECT_TRUE(engine->waitCommitted());
  engine.reset();
  EXPECT_EQ(makeEngine()->read([](const Ledger& ledger) { return ledger.utxosCount(); }), 2u);
}

TEST_F(EngineTest, ADetachedCommandAfterTheStopIsDropped) {
  auto engine = makeEngine();
  engine->start();
  engine->stop();
  bool applied = false;
  engine->postDetached([&applied](Ledger&, Effects&, std::int64_t) { applied = true; });
  EXPECT_FALSE(applied);
}

TEST_F(EngineTest, WaitCommittedIsFalseOnceTheEngineStopped) {
  auto engine = makeEngine();
  engine->start();
  engine->stop();
  EXPECT_FALSE(engine->waitCommitted());
}

}  // namespace
}  // namespace eventnode::plugins::utxo
