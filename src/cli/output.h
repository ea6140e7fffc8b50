// Output as Docker prints it: aligned tables, `--format` templates (`table`, `json`,
// `{{.Field}}`, `{{json .}}`), human sizes ("4.26MB") and ages ("2 weeks ago").
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"

namespace berth::cli {

// A row is the set of named fields a template can reference ({{.Repository}}).
using Row = nlohmann::ordered_json;

// Renders rows for a `--format` value. "" or "table" uses default_table (a "table ..."
// template); "json" prints one JSON object per line; "table <tmpl>" adds a header row of the
// field names; any other text is a template applied to each row. Unknown fields and
// unsupported template syntax are InvalidArgument naming the template.
// headers names the column of a field in table mode (default: the field name upper-cased).
Result<std::string> render(const std::vector<Row>& rows, const std::string& format,
                           const std::string& default_table,
                           const std::map<std::string, std::string>& headers = {});

// Columns separated as Docker's tabwriter does (minimum width 10, padding 3).
std::string align_columns(const std::vector<std::vector<std::string>>& rows);

// Decimal units with three significant digits: 4.26MB, 980kB, 0B.
std::string human_size(int64_t bytes);
// "Less than a second", "About a minute", "2 weeks"... for a duration in seconds.
std::string human_duration(int64_t seconds);
// Docker's "2024-01-02 03:04:05 +0000 UTC" from a UTC RFC 3339 time.
std::string docker_time(const std::string& rfc3339);
// Seconds since an RFC 3339 timestamp ("" or unparsable: -1).
int64_t seconds_since(const std::string& rfc3339);

}  // namespace berth::cli
