#pragma once
// ${VAR} and ${VAR:-default} in config strings, expanded from the process environment at start-up
// (the DaemonSet sets NODE_NAME and HOST_IP from the downward API). Thread-safe as getenv is.

#include <string>
#include <string_view>

namespace lookout {

// Unset or empty VAR without a default -> "". Unterminated "${" is kept as written.
std::string ExpandEnv(std::string_view s);

}  // namespace lookout
