#pragma once
// The batch database's tables: created on a new file, brought up to date on
// a file an earlier release wrote, in one transaction so a failed upgrade
// leaves the file as it was.
#include <eventnode/plugin/sqlite/migration.hpp>

namespace eventnode::plugins::pow_batches {

/// The schema this release writes, kept in `PRAGMA user_version`.
inline constexpr int kBatchSchemaVersion = 2;

/// Creates the tables, or upgrades those of an older file (see the .cpp for
/// each version). Call on the writer's connection before preparing any
/// statement. Throws plugin::sqlite::Error naming the file; a file with a
/// newer version than kBatchSchemaVersion is refused.
void prepareBatchSchema(plugin::sqlite::Database& db);

}  // namespace eventnode::plugins::pow_batches
