#pragma once
// MetricsRenderer: the body of a /metrics response. Gathers every registered Collectable, merges
// families of the same name, sorts them, and encodes in the negotiated format (gzip when
// allowed). The HTTP side (routing, status, headers) is the Exposer's (agent/server/exposer.h);
// this only renders.
//
// Thread-safety: Add() and Render() may be called from any thread; concurrent Render() calls
// run concurrently (collectables are required to be safe for that).

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporters/prometheus/format.h"
#include "lookout/metrics/collectable.h"

namespace lookout::prometheus {

struct RenderedMetrics {
  std::string body;
  std::string content_type;
  bool gzip = false;  // body is gzip-compressed; set Content-Encoding
  Format format = Format::kText004;
};

class MetricsRenderer {
 public:
  // Held weakly: a collectable that is destroyed simply stops being collected.
  void Add(std::weak_ptr<Collectable> c);
  RenderedMetrics Render(std::string_view accept, std::string_view accept_encoding) const;
  // The merged, sorted families (also used by tests and by the golden output). Compact sources'
  // families are expanded here; Render() reads them a chunk at a time instead.
  // `with_scrape_times`: a scraped sample without its own timestamp gets its scrape's time
  // (CompactFamilies::scrape_time_ms): remote write's input, where samples keep it.
  std::vector<MetricFamily> Gather(bool with_scrape_times = false) const;

 private:
  std::vector<std::shared_ptr<Collectable>> Live() const;  // drops expired collectables

  mutable std::atomic<size_t> last_size_{0};  // the last uncompressed body's size
  mutable std::mutex mu_;
  mutable std::vector<std::weak_ptr<Collectable>> collectables_;  // guarded by mu_
};

}  // namespace lookout::prometheus
