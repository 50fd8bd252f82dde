#pragma once
// The node collectors' options (`node:` in the config). Each collector's own options live in a
// struct or field here, read by the option rows its registration entry carries
// (node_collectors.h); NodeOptionTable() assembles the section from those entries.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"
#include "agent/common/pattern.h"
#include "lookout/host_paths.h"

namespace lookout {

struct FilesystemOptions {
  Pattern mount_points_exclude;
  Pattern fs_types_exclude;
  Duration mount_timeout{};
  int max_stuck_mounts = 0;  // hung statfs threads we accept before skipping all statfs
};

struct DeviceFilter {
  Pattern include;  // when set, only matching devices
  Pattern exclude;
  bool Ignored(std::string_view device) const;
};

struct TextfileOptions {
  std::string directory;      // "" = none (node_exporter's upstream default); a Go glob allowed
  size_t max_file_bytes = 0;  // a larger .prom file is skipped (node_textfile_scrape_error 1)
};

// Values come from the option tables' defaults; these members have none of their own.
struct NodeOptions {
  HostPaths paths;
  size_t max_file_bytes = 0;
  size_t max_kept_files = 0;  // kept_files.h: the most kernel files kept open between scrapes
  std::map<std::string, bool, std::less<>> enabled;  // collector name -> on/off
  FilesystemOptions filesystem;
  DeviceFilter diskstats;
  DeviceFilter netdev;
  DeviceFilter netclass;
  DeviceFilter arp;
  bool netclass_ignore_invalid_speed = false;  // drop speed_bytes when speed is negative
  bool rapl_zone_label = false;                // one node_rapl_joules_total with a rapl_zone label
  Pattern powersupply_ignored;                 // power supplies not reported
  Pattern tapestats_ignored;                   // tape devices not reported
  bool bcache_priority_stats = false;          // --collector.bcache.priorityStats
  // node_ipvs_backend_* labels, in node_exporter's order (IpvsOptionRows canonicalises them).
  std::vector<std::string> ipvs_backend_labels = {"local_address", "local_port", "remote_address",
                                                  "remote_port",   "proto",      "local_mark"};
  Pattern netstat_fields;
  Pattern vmstat_fields;
  TextfileOptions textfile;
};

// paths.*, max_file_bytes, and collectors.<name>.enabled plus each collector's options, in
// registration order.
const OptionTable<NodeOptions>& NodeOptionTable();

// device_include / device_exclude rows for a DeviceFilter member (diskstats, netdev, netclass).
std::vector<Option<NodeOptions>> DeviceFilterOptions(DeviceFilter NodeOptions::*member,
                                                     std::string include_default,
                                                     std::string exclude_default, std::string doc);

}  // namespace lookout
