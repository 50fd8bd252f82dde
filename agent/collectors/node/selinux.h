#pragma once
#include <string_view>

namespace lookout {

// SELinux modes as node_exporter 1.5 reports them (opencontainers/selinux's constants):
// enforcing 1, permissive 0, disabled -1.
inline constexpr int kSelinuxEnforcing = 1;
inline constexpr int kSelinuxPermissive = 0;
inline constexpr int kSelinuxDisabled = -1;

// The SELINUX= mode of /etc/selinux/config (the configured mode, go-selinux 1.10's
// DefaultEnforceMode): lines trimmed of white space, blank lines and lines starting with '#' or
// ';' skipped, the first line whose text before its first '=' is exactly "SELINUX" decides, its
// value with quotes removed: "enforcing" 1, "permissive" 0, anything else or none -1.
int ParseSelinuxConfigMode(std::string_view config);

// selinuxfs's `enforce` file (the current mode, go-selinux's EnforceMode): the kernel writes
// "%d" with no newline; Go's strconv.Atoi of the whole content (one optional sign, decimal
// digits), -1 when it does not parse or does not fit an int.
int ParseSelinuxEnforce(std::string_view enforce);

}  // namespace lookout
