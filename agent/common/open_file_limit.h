#pragma once
// The process's open-file limit (RLIMIT_NOFILE) and the descriptors the agent keeps open on
// purpose.
//
// Containers start with a soft limit of 1024 (containerd 2, systemd's default) under a much
// higher hard limit. Go raises the soft limit to the hard one at start-up, so node_exporter runs
// with it; lookout does the same (RaiseOpenFileLimit), then gives a share of it to the files the
// node collectors keep open between scrapes (kept_files.h): node.max_kept_files, at most a
// quarter of the soft limit. server.reserved_files more are kept for the agent's own work
// (collectors' transient opens, WAL segments, the kubelet client, scrape workers). Listeners get
// what is left: their connection caps are lowered to fit it (FitToBudget), so a connection flood
// can never take the descriptors a collector or the metrics endpoint needs.
#include <sys/resource.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "lookout/metrics/collectable.h"

namespace lookout {

struct OpenFileLimit {
  rlim_t before = 0;  // soft limit found at start-up
  rlim_t soft = 0;    // soft limit now (RLIM_INFINITY: unlimited)
  rlim_t hard = 0;
  int err = 0;  // errno of a getrlimit/setrlimit that failed, else 0
};

// Raises the soft RLIMIT_NOFILE to the hard limit. Call once, before threads start.
OpenFileLimit RaiseOpenFileLimit();

// Descriptors all listeners together may hold: `soft` minus the kept-file limit and
// `reserved`, at least 0 (SIZE_MAX when the soft limit is unlimited).
size_t ListenerFileBudget(rlim_t soft, size_t kept_file_limit, size_t reserved);

// `caps` scaled down in proportion so that they sum to at most `budget`, each at least 1;
// unchanged when they already fit.
std::vector<size_t> FitToBudget(std::vector<size_t> caps, size_t budget);

// lookout_open_files (descriptors open now, from /proc/self/fd), lookout_open_files_limit (the
// soft limit), lookout_open_files_reserved (`reserved`), lookout_kept_open_files and
// lookout_kept_open_files_limit, read at collection time. Thread-safe.
std::shared_ptr<Collectable> NewOpenFileMetrics(size_t reserved);

}  // namespace lookout
