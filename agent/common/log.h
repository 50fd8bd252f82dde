#pragma once
// Structured logging to stderr in logfmt or JSON, with a per-key rate limiter for the data path
// ("log at warn once per burst").
//
// Thread-safety: all functions are safe from any thread; a line is written with one write(2).

#include <atomic>
#include <chrono>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace lookout {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

bool ParseLogLevel(std::string_view s, LogLevel* out);
bool ParseLogFormat(std::string_view s, LogFormat* out);
void SetLogLevel(LogLevel l);
void SetLogFormat(LogFormat f);
bool LogEnabled(LogLevel l);

using LogField = std::pair<std::string_view, std::string_view>;
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

// Formats one log line without writing it (exposed for tests).
std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view msg, std::initializer_list<LogField> fields);

// Allows one event per key per interval and counts the suppressed ones, so a burst of identical
// failures logs once ("... suppressed=41").
class LogRateLimiter {
 public:
  explicit LogRateLimiter(std::chrono::steady_clock::duration interval) : interval_(interval) {}
  // Returns true if this event should be logged; `suppressed` gets how many were dropped since.
  bool Allow(const std::string& key, uint64_t* suppressed);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last{};
    uint64_t suppressed = 0;
  };
  const std::chrono::steady_clock::duration interval_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_; keys are bounded
};

}  // namespace lookout
