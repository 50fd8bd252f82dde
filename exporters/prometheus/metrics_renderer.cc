#include "exporters/prometheus/metrics_renderer.h"

#include <algorithm>

#include "agent/common/compression.h"
#include "exporters/prometheus/openmetrics_encoder.h"
#include "exporters/prometheus/text_encoder.h"

namespace lookout::prometheus {

void MetricsRenderer::Add(std::weak_ptr<Collectable> c) {
  std::lock_guard lock(mu_);
  collectables_.push_back(std::move(c));
}

std::vector<MetricFamily> MetricsRenderer::Gather() const {
  std::vector<std::shared_ptr<Collectable>> live;
  {
    std::lock_guard lock(mu_);
    std::erase_if(collectables_, [](const auto& w) { return w.expired(); });
    for (const auto& w : collectables_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  std::vector<MetricFamily> families;
  families.reserve(256);
  for (const auto& c : live) c->Collect(families);

  std::stable_sort(families.begin(), families.end(),
                   [](const MetricFamily& a, const MetricFamily& b) { return a.name < b.name; });
  // Two sources may contribute to one family (same name and type): merge their samples so the
  // family appears once, as both formats require.
  std::vector<MetricFamily> merged;
  merged.reserve(families.size());
  for (auto& f : families) {
    if (!merged.empty() && merged.back().name == f.name) {
      // Same name, other type (an app exposing a name the agent already uses): the first source
      // keeps it; a second TYPE line would make the whole exposition invalid.
      if (merged.back().type != f.type) continue;
      // A source with no series yet may list the family without HELP or unit (SelfMetrics
      // cannot read them back from prometheus-cpp): whichever source has them provides them.
      if (merged.back().help.empty()) merged.back().help = std::move(f.help);
      if (merged.back().unit.empty()) merged.back().unit = std::move(f.unit);
      auto& dst = merged.back().samples;
      dst.insert(dst.end(), std::make_move_iterator(f.samples.begin()),
                 std::make_move_iterator(f.samples.end()));
    } else {
      merged.push_back(std::move(f));
    }
  }
  return merged;
}

RenderedMetrics MetricsRenderer::Render(std::string_view accept,
                                        std::string_view accept_encoding) const {
  const Format format = NegotiateFormat(accept);
  const std::vector<MetricFamily> families = Gather();
  RenderedMetrics r;
  r.content_type = ContentType(format);
  r.format = format;
  r.body.reserve(size_t{64} * 1024);
  if (format == Format::kOpenMetrics100) {
    EncodeOpenMetrics(families, r.body);
  } else {
    EncodeText(families, r.body);
  }
  if (AcceptsGzip(accept_encoding)) {
    if (auto z = Gzip(r.body); z.ok()) {
      r.body = std::move(z).value();
      r.gzip = true;
    }
  }
  return r;
}

}  // namespace lookout::prometheus
