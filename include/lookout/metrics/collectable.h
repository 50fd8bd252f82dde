#pragma once
// Collectable: anything that can hand over its metric families now (prometheus-cpp's idea).
// The /metrics handler holds collectables weakly, so a source that goes away simply stops
// appearing. Implementations must be safe to call from several scrapes at once.

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "lookout/metrics/compact_families.h"
#include "lookout/metrics/metric.h"

namespace lookout {

// Families handed over without copying: shared, immutable, and `target_labels` (may be null)
// belong to every series of them as if appended to each sample's labels (a scrape target's
// job, instance, namespace, pod; names that never clash with the samples' own).
struct SharedFamilies {
  std::shared_ptr<const std::vector<MetricFamily>> families;
  std::shared_ptr<const Labels> target_labels;
};

class Collectable {
 public:
  virtual ~Collectable() = default;
  virtual void Collect(std::vector<MetricFamily>& out) = 0;
  // Families held compactly (scraped targets: many series, kept between scrapes), handed over
  // without copying. The /metrics renderer reads them a chunk of samples at a time, so serving
  // them never holds a second copy. Collect() leaves these out; CollectSome() and ShareSome()
  // include them.
  virtual void CollectCompact(std::vector<std::shared_ptr<const CompactFamilies>>& /*out*/) {}
  // Only the families whose name `wanted` accepts: what the SLO engine reads every tick.
  // Sources holding many families (scraped apps, OTLP) override it so they copy only those.
  virtual void CollectSome(const std::function<bool(std::string_view)>& wanted,
                           std::vector<MetricFamily>& out) {
    std::vector<MetricFamily> all;
    Collect(all);
    for (auto& f : all) {
      if (wanted(f.name)) out.push_back(std::move(f));
    }
    std::vector<std::shared_ptr<const CompactFamilies>> compact;
    CollectCompact(compact);
    for (const auto& c : compact) {
      for (size_t i = 0; i < c->family_count(); ++i) {
        if (wanted(c->header(i).name)) out.push_back(c->ExpandFamily(i));
      }
    }
  }
  // The SLO engine's read (MetricViewSource::View): sources may hand over shared snapshots they
  // keep between reads instead of fresh copies (the scrape manager keeps each target's wanted
  // families expanded until its next scrape), and families `wanted` refuses: the reader skips
  // those. The default copies CollectSome's.
  virtual void ShareSome(const std::function<bool(std::string_view)>& wanted,
                         std::vector<SharedFamilies>& out) {
    auto copy = std::make_shared<std::vector<MetricFamily>>();
    CollectSome(wanted, *copy);
    if (!copy->empty()) out.push_back({std::move(copy), nullptr});
  }
};

}  // namespace lookout
