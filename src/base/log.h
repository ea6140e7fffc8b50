// Diagnostics for humans and for runc-style log files (--log, --log-format json).
#pragma once

#include <fmt/core.h>

#include <string>
#include <string_view>

namespace berth::log {

enum class Level { Debug, Info, Warn, Error };

// Sends log lines to path (appending) instead of stderr; json selects runc's JSON lines.
void configure(const std::string& path, bool json, bool debug);
void write(Level level, std::string_view msg);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) { write(Level::Debug, fmt::format(f, std::forward<Args>(args)...)); }
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) { write(Level::Info, fmt::format(f, std::forward<Args>(args)...)); }
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) { write(Level::Warn, fmt::format(f, std::forward<Args>(args)...)); }
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) { write(Level::Error, fmt::format(f, std::forward<Args>(args)...)); }

}  // namespace berth::log
