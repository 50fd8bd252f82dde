#pragma once
#include <map>
#include <string>
#include <string_view>

namespace lookout {

// os-release(5): KEY=value lines, values optionally quoted with shell-style escapes.
std::map<std::string, std::string> ParseOsRelease(std::string_view text);

}  // namespace lookout
