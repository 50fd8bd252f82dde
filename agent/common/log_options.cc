#include "agent/common/log_options.h"

namespace lookout {

const OptionTable<LogOptions>& LogOptionTable() {
  using O = LogOptions;
  static const OptionTable<O> kTable{{
      option::Enum<O, LogLevel>("level", &O::level,
                                {{"debug", LogLevel::kDebug},
                                 {"info", LogLevel::kInfo},
                                 {"warn", LogLevel::kWarn},
                                 {"error", LogLevel::kError}},
                                "info", "messages below this level are not written"),
      option::Enum<O, LogFormat>("format", &O::format,
                                 {{"logfmt", LogFormat::kLogfmt}, {"json", LogFormat::kJson}},
                                 "logfmt", "one line per event on stderr"),
  }};
  return kTable;
}

}  // namespace lookout
