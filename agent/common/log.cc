#include "agent/common/log.h"

#include <unistd.h>

#include <ctime>

#include "agent/common/json.h"

namespace lookout {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kLogfmt)};

std::string_view LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      break;
  }
  return "error";
}

void AppendLogfmtValue(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\') quote = true;
  }
  if (!quote) {
    out += v;
    return;
  }
  json::AppendQuoted(out, v);  // logfmt quoting uses the same escapes
}

std::string NowRfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[40];
  const size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
  char frac[24];
  snprintf(frac, sizeof(frac), ".%03ldZ", ts.tv_nsec / 1000000);
  return std::string(buf, n) + frac;
}

}  // namespace

bool ParseLogLevel(std::string_view s, LogLevel* out) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (s == LevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

bool ParseLogFormat(std::string_view s, LogFormat* out) {
  if (s == "logfmt") {
    *out = LogFormat::kLogfmt;
  } else if (s == "json") {
    *out = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

void SetLogLevel(LogLevel l) { g_level.store(static_cast<int>(l)); }
void SetLogFormat(LogFormat f) { g_format.store(static_cast<int>(f)); }
bool LogEnabled(LogLevel l) { return static_cast<int>(l) >= g_level.load(); }

std::string FormatLogLine(LogFormat format, std::string_view ts, LogLevel level,
                          std::string_view msg, std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(128);
  if (format == LogFormat::kJson) {
    line += "{\"ts\":";
    json::AppendQuoted(line, ts);
    line += ",\"level\":";
    json::AppendQuoted(line, LevelName(level));
    line += ",\"msg\":";
    json::AppendQuoted(line, msg);
    for (const auto& [k, v] : fields) {
      line += ',';
      json::AppendQuoted(line, k);
      line += ':';
      json::AppendQuoted(line, v);
    }
    line += "}\n";
  } else {
    line += "ts=";
    line += ts;
    line += " level=";
    line += LevelName(level);
    line += " msg=";
    AppendLogfmtValue(line, msg);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      AppendLogfmtValue(line, v);
    }
    line += '\n';
  }
  return line;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  const std::string line =
      FormatLogLine(static_cast<LogFormat>(g_format.load()), NowRfc3339(), level, msg, fields);
  // One write per line keeps lines from different threads whole.
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

bool LogRateLimiter::Allow(const std::string& key, uint64_t* suppressed) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  if (e.last != std::chrono::steady_clock::time_point{} && now - e.last < interval_) {
    ++e.suppressed;
    return false;
  }
  *suppressed = e.suppressed;
  e.suppressed = 0;
  e.last = now;
  return true;
}

}  // namespace lookout
