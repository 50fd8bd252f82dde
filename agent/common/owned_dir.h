#pragma once
// Prepares a directory the agent keeps state in (a hostPath in the DaemonSet: the SLO state, the
// span queue) for the unprivileged user it runs as. Kubernetes creates hostPath directories as
// root 0755; `lookout state-dir DIR --owner 65534:65534`, run by an init container as root with
// only CAP_CHOWN, makes DIR the agent's (mode 0750), so the agent itself needs no capability.
// What the agent then creates inside is its own.

#include <sys/types.h>

#include <string>

#include "lookout/result.h"

namespace lookout {

// Creates `dir` (and its parents) if missing; unless uid:gid already own it, makes it 0750 and
// gives it to uid:gid. Errors: reason "io", with the path and errno.
Status PrepareOwnedDirectory(const std::string& dir, uid_t uid, gid_t gid);

}  // namespace lookout
