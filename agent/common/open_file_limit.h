#pragma once
// The process's open-file limit (RLIMIT_NOFILE) and the descriptors the agent keeps open on
// purpose.
//
// Containers start with a soft limit of 1024 (containerd 2, systemd's default) under a much
// higher hard limit. Go raises the soft limit to the hard one at start-up, so node_exporter runs
// with it; lookout does the same (RaiseOpenFileLimit), then gives a share of it to the files the
// node collectors keep open between scrapes (kept_files.h): node.max_kept_files, at most a
// quarter of the soft limit, so listeners, WAL segments and scrape clients keep the rest.
#include <sys/resource.h>

#include <cstddef>
#include <memory>

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

// lookout_open_files_limit (the soft limit), lookout_kept_open_files and
// lookout_kept_open_files_limit, read at collection time. Thread-safe.
std::shared_ptr<Collectable> NewOpenFileMetrics();

}  // namespace lookout
