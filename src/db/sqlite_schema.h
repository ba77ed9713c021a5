// The SQLite adapter's schema: ordered migrations, applied by
// internal::Migrate (sqlite_internal.h). Internal to the db module.
#pragma once

#include <string_view>
#include <vector>

namespace vs::db::internal {

// Entry i takes a file from schema version i to i+1. Append, never edit.
const std::vector<std::string_view>& SqliteMigrations();

}  // namespace vs::db::internal
