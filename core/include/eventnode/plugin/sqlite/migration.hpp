#pragma once
/// A database's layout, versioned in `PRAGMA user_version`: ordered steps,
/// each run once, in a transaction of its own.
#include "statement.hpp"

#include <functional>
#include <span>
#include <string>

namespace eventnode::plugin::sqlite {

/// Brings a file to `version`, from whatever version below it the file has.
/// A step may find the tables of an unversioned (version 0) file: write it
/// with CREATE ... IF NOT EXISTS, or look first, so that an existing file is
/// left as it is.
struct MigrationStep {
  int version = 0;
  std::function<void(Database&)> apply;
};

/// Runs, in order, each step whose version is above the file's, each in its
/// own transaction with the new user_version: a failed step leaves the file
/// at the version before it. `steps` are in increasing version order; the
/// last one is the version this code writes. Call before preparing
/// statements. Throws Error naming the file: a step failed, or the file has
/// a newer version than the code (it was written by a newer release).
inline void migrate(Database& db, std::span<const MigrationStep> steps) {
  const std::int64_t current = db.queryInteger("PRAGMA user_version", 0);
  const std::int64_t latest = steps.empty() ? 0 : steps.back().version;
  if (current > latest) {
    throw Error(db.describe("cannot open", "the file has schema version " + std::to_string(current) +
                                               ", newer than this node's " + std::to_string(latest) +
                                               "; run the eventnode release that wrote it"));
  }
  for (const auto& step : steps) {
    if (step.version <= current) continue;
    Transaction transaction(db);
    try {
      step.apply(db);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(db.describe("cannot upgrade to schema version " + std::to_string(step.version), e.what()));
    }
    db.exec("PRAGMA user_version = " + std::to_string(step.version), "cannot set the schema version");
    transaction.commit();
  }
}

}  // namespace eventnode::plugin::sqlite
