// berth.db: the engine's metadata in SQLite (WAL). One Database per process; every change runs
// in a transaction, so a crash leaves either the old or the new state. Schema changes are
// numbered migrations applied in order when the database is opened.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::store {

// A prepared statement: bind by 1-based index, step through rows, read columns by index.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind_null(int index);
  // True when a row is available, false when done.
  Result<bool> step();
  // Runs to completion, ignoring rows.
  Result<void> run();

  std::string text(int column) const;
  int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating when absent, mode 0600) and migrates the database at path.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  // db when given (a caller's connection, to share), else a new one to path.
  static Result<std::shared_ptr<Database>> shared(std::shared_ptr<Database> db, const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<Statement> prepare(std::string_view sql);
  Result<void> exec(std::string_view sql);
  // Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back when fn fails.
  Result<void> transaction(const std::function<Result<void>()>& fn);
  int64_t changes() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  Result<void> migrate();
  sqlite3* db_;
};

}  // namespace berth::store
