#pragma once
// Build identity, filled in by CMake (see agent/build_info.cc.in).
#include <string_view>

namespace lookout {

struct BuildInfo {
  std::string_view version;
  std::string_view revision;
  std::string_view compiler;
  std::string_view build_type;
};

const BuildInfo& GetBuildInfo();

}  // namespace lookout
