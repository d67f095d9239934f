// The storage example of docs/plugins.md as an out-of-tree plugin: POST /notes
// keeps the body in notes.sqlite under the plugin's data dir, GET /notes
// counts what is kept.
#include <eventnode/plugin/export.hpp>
#include <eventnode/plugin/sqlite.hpp>

#include <memory>
#include <mutex>

namespace sqlite = eventnode::plugin::sqlite;

class NoteStore {
 public:
  explicit NoteStore(const std::filesystem::path& file)
      : db_(file, {.name = "notes database", .synchronous = sqlite::Synchronous::Normal, .auto_checkpoint = false}) {
    static const sqlite::MigrationStep kSteps[] = {
        {1,
         [](sqlite::Database& db) { db.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)"); }},
        {2, [](sqlite::Database& db) { db.exec("ALTER TABLE notes ADD COLUMN at INTEGER NOT NULL DEFAULT 0"); }},
    };
    sqlite::migrate(db_, kSteps);
    insert_ = std::make_unique<sqlite::Statement>(db_, "INSERT INTO notes (text, at) VALUES (?, ?)");
    checkpointer_ = std::make_unique<sqlite::WalCheckpointer>(file, sqlite::CheckpointPolicy{}, &mutex_);
  }

  void add(const std::string& text, std::int64_t at) {
    std::lock_guard lock(mutex_);
    sqlite::Transaction transaction(db_);
    insert_->bind(1, text).bind(2, at).run();
    transaction.commit();
  }

  std::int64_t count() {
    std::lock_guard lock(mutex_);
    return db_.queryInteger("SELECT COUNT(*) FROM notes");
  }

 private:
  std::mutex mutex_;
  sqlite::Database db_;
  std::unique_ptr<sqlite::Statement> insert_;              // finalized before db_ closes
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;  // stopped first
};

class NotesPlugin final : public eventnode::plugin::Plugin {
 public:
  eventnode::plugin::PluginInfo info() const override { return {.name = "notes", .version = "1.0.0"}; }
  eventnode::plugin::ConfigSchema configSchema() const override { return {}; }
  void configure(const YAML::Node&) override {}

  void start(eventnode::plugin::Host& host) override {
    store_ = std::make_unique<NoteStore>(host.dataDir() / "notes.sqlite");
    host.addHttpRoute({"POST", "/notes", eventnode::plugin::RouteAccess::Public,
                       [this](const eventnode::plugin::HttpRequest& request) {
                         store_->add(request.body, 0);
                         return eventnode::plugin::HttpResponse::json(200, {{"notes", store_->count()}});
                       }});
    host.addHttpRoute(
        {"GET", "/notes", eventnode::plugin::RouteAccess::Public, [this](const eventnode::plugin::HttpRequest&) {
           return eventnode::plugin::HttpResponse::json(200, {{"notes", store_->count()}});
         }});
  }

  void stop() override { store_.reset(); }

 private:
  std::unique_ptr<NoteStore> store_;
};

EVENTNODE_PLUGIN(NotesPlugin)
