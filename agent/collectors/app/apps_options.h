#pragma once
// Application metrics (`apps:` in the config): annotated pods on this node and static targets,
// scraped and re-exposed. The options and their table.

#include <string>
#include <utility>
#include <vector>

#include "agent/common/duration.h"
#include "agent/common/option_table.h"
#include "lookout/metrics/relabel.h"

namespace lookout {

struct StaticTargetOptions {
  std::string url;
  std::string job;
  Duration interval{};  // 0 = apps.scrape_interval
  Duration timeout{};   // 0 = apps.scrape_timeout
  std::vector<std::pair<std::string, std::string>> labels;
  Relabeler metric_relabel_configs;
};

// Values come from the option table's defaults; these members have none of their own.
struct AppsOptions {
  bool enabled = false;
  Duration scrape_interval{};
  Duration scrape_timeout{};
  int max_concurrent_scrapes = 0;
  int max_redirects = 0;  // followed like Prometheus; 0 = a redirect fails the target
  bool insecure_skip_verify = false;
  bool pods_enabled = false;  // prometheus.io/scrape annotations; needs kubernetes metadata
  std::string pods_job;
  Relabeler pods_metric_relabel_configs;
  size_t max_body_bytes = 0;  // after decompression
  size_t max_samples = 0;
  size_t max_labels = 0;
  size_t max_label_name_length = 0;
  size_t max_label_value_length = 0;
  std::vector<StaticTargetOptions> static_targets;
};

const OptionTable<AppsOptions>& AppsOptionTable();

}  // namespace lookout
