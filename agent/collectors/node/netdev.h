#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/result.h"

namespace lookout {

struct NetDevStats {
  std::string device;
  // ("receive_bytes", 123), ("transmit_colls", 0), ...: names from the file's own header, so a
  // kernel that adds a column is handled.
  std::vector<std::pair<std::string, double>> values;
};

Result<std::vector<NetDevStats>> ParseNetDev(std::string_view text);

}  // namespace lookout
