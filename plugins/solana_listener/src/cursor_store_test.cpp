#include "cursor_store.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace eventnode::plugins::solana_listener {
namespace {

namespace fs = std::filesystem;

// A test's own folder, and the database file the store under test keeps there.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("solana") {}
  std::filesystem::path db() const { return path() / "cursors.sqlite"; }
};

constexpr const char* kProgram = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P";
constexpr const char* kToken = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";

TEST(CursorStore, EmptyStoreHasNoCursor) {
  TempDir dir;
  CursorStore store(dir.db());
  EXPECT_FALSE(store.load(kProgram).has_value());
  EXPECT_TRUE(store.loadAll().empty());
}

TEST(CursorStore, AdvancesOnlyForwardBySlot) {
  TempDir dir;
  CursorStore store(dir.db());
  EXPECT_TRUE(store.advance(kProgram, {"sigA", 100}));
  EXPECT_TRUE(store.advance(kProgram, {"sigB", 105}));
  EXPECT_FALSE(store.advance(kProgram, {"sigOld", 99}));
  EXPECT_EQ(store.load(kProgram), (Cursor{"sigB", 105}));
  EXPECT_TRUE(store.advance(kProgram, {"sigC", 105}));  // same slot: a later transaction of that slot
  EXPECT_EQ(store.load(kProgram), (Cursor{"sigC", 105}));
}

TEST(CursorStore, KeepsProgramsApartAndSurvivesReopen) {
  TempDir dir;
  {
    CursorStore store(dir.db());
    store.advance(kProgram, {"sigP", 10});
    store.advance(kToken, {"sigT", 20});
  }
  CursorStore reopened(dir.db());
  const auto all = reopened.loadAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.at(kProgram), (Cursor{"sigP", 10}));
  EXPECT_EQ(all.at(kToken), (Cursor{"sigT", 20}));
  EXPECT_FALSE(reopened.advance(kToken, {"older", 19}));
}

TEST(CursorStore, UsesWriteAheadLog) {
  TempDir dir;
  CursorStore store(dir.db());
  store.advance(kProgram, {"sig", 1});
  EXPECT_TRUE(fs::exists(dir.path() / "cursors.sqlite-wal"));
}

TEST(CursorStore, ConcurrentAdvancesKeepTheHighestSlot) {
  TempDir dir;
  CursorStore store(dir.db());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i)
        store.advance(kProgram, {"sig-" + std::to_string(t * 1000 + i), std::uint64_t(t * 1000 + i)});
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store.load(kProgram), (Cursor{"sig-3049", 3049}));
}

TEST(CursorStore, RefusesSlotsBeyondSigned64Bits) {
  TempDir dir;
  CursorStore store(dir.db());
  EXPECT_THROW(store.advance(kProgram, {"sig", UINT64_MAX}), std::runtime_error);
}

TEST(CursorStore, RemembersPublishedSignaturesAcrossAReopenUntilTheCursorCoversThem) {
  TempDir dir;
  {
    CursorStore store(dir.db());
    store.remember({{kProgram, "a", 5}, {kProgram, "b", 7}, {kToken, "c", 3}});
    store.remember({{kProgram, "b", 7}});  // published twice is remembered once
  }
  CursorStore reopened(dir.db());
  EXPECT_EQ(reopened.rememberedSignatures(), (std::vector<std::string>{"c", "a", "b"}));
  reopened.forgetBefore(kProgram, 7);
  EXPECT_EQ(reopened.rememberedSignatures(), (std::vector<std::string>{"c", "b"}));
  reopened.forgetBefore(kToken, 100);
  EXPECT_EQ(reopened.rememberedSignatures(), (std::vector<std::string>{"b"}));
}

TEST(CursorStore, AFileWrittenBeforeTheLayoutHadAVersionKeepsItsCursorsAndSignatures) {
  TempDir dir;
  {
    // The tables exactly as releases without a schema version created them.
    plugin::sqlite::Database old(dir.db(), {.name = "old cursor store"});
    old.exec(
        "CREATE TABLE cursors (program TEXT PRIMARY KEY, signature TEXT NOT NULL, slot INTEGER NOT NULL, "
        "updated_at INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
        "CREATE TABLE published (signature TEXT PRIMARY KEY, program TEXT NOT NULL, slot INTEGER NOT NULL) "
        "WITHOUT ROWID;"
        "CREATE INDEX published_by_program_slot ON published (program, slot);"
        "INSERT INTO cursors (program, signature, slot) VALUES ('" +
        std::string(kProgram) +
        "', 'sigOld', 41);"
        "INSERT INTO published VALUES ('sigAhead', '" +
        std::string(kProgram) + "', 42);");
  }
  CursorStore store(dir.db());
  EXPECT_EQ(store.load(kProgram), (Cursor{"sigOld", 41}));
  EXPECT_EQ(store.rememberedSignatures(), (std::vector<std::string>{"sigAhead"}));
  EXPECT_FALSE(store.advance(kProgram, {"older", 40}));
}

TEST(CursorStore, UnopenableFileIsNamedInTheError) {
  TempDir dir;
  const auto file = dir.path() / "missing-dir" / "cursors.sqlite";
  try {
    CursorStore store(file);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace eventnode::plugins::solana_listener
