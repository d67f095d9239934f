#pragma once
/// SQLite for plugins that keep a database: link eventnode::plugin_sqlite
/// (in tree) or find_package(eventnode_plugin_api COMPONENTS sqlite) out of
/// tree. docs/plugins.md shows a store built on it.
#include "sqlite/checkpoint.hpp"
#include "sqlite/database.hpp"
#include "sqlite/migration.hpp"
#include "sqlite/statement.hpp"
