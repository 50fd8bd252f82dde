#pragma once
// The log's options (`log:` in the config) and their table.

#include "agent/common/log.h"
#include "agent/common/option_table.h"

namespace lookout {

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kLogfmt;
};

const OptionTable<LogOptions>& LogOptionTable();

}  // namespace lookout
