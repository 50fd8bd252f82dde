#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "lookout/result.h"

namespace lookout {

struct MeminfoField {
  std::string name;  // node_exporter form: "Active(anon)" -> "Active_anon"
  double value = 0;  // bytes when has_unit (kB * 1024), else the raw count
  bool has_unit = false;
};

Result<std::vector<MeminfoField>> ParseMeminfo(std::string_view text);

}  // namespace lookout
