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

namespace {

// Where a merged family's samples are: a family a source handed over, or one of a compact
// source's families.
struct Part {
  MetricFamily* owned = nullptr;
  const CompactFamilies* compact = nullptr;
  size_t index = 0;
};

struct Merged {
  MetricFamily header;  // name, help, type, unit; no samples
  std::vector<Part> parts;
  size_t samples = 0;
};

// Every source's families, merged by name (sorted) but not copied.
struct Gathered {
  std::vector<MetricFamily> owned;
  std::vector<std::shared_ptr<const CompactFamilies>> compact;
  std::vector<Merged> merged;
};

// Expanding a compact family this many samples at a time bounds what serving it holds.
constexpr size_t kChunk = 512;

Gathered GatherAll(const std::vector<std::shared_ptr<Collectable>>& live) {
  Gathered g;
  g.owned.reserve(256);
  struct Entry {
    std::string_view name;
    Part part;
  };
  // Per source: its owned families, then its compact ones, so a stable sort by name keeps the
  // sources' order for each name (the first source's type wins).
  std::vector<std::pair<size_t, size_t>> owned_ranges, compact_ranges;
  for (const auto& c : live) {
    const size_t o = g.owned.size(), k = g.compact.size();
    c->Collect(g.owned);
    c->CollectCompact(g.compact);
    owned_ranges.emplace_back(o, g.owned.size());
    compact_ranges.emplace_back(k, g.compact.size());
  }
  std::vector<Entry> entries;
  entries.reserve(g.owned.size());
  for (size_t src = 0; src < live.size(); ++src) {
    for (size_t i = owned_ranges[src].first; i < owned_ranges[src].second; ++i) {
      entries.push_back({g.owned[i].name, {&g.owned[i], nullptr, 0}});
    }
    for (size_t i = compact_ranges[src].first; i < compact_ranges[src].second; ++i) {
      const CompactFamilies& c = *g.compact[i];
      for (size_t f = 0; f < c.family_count(); ++f) {
        entries.push_back({c.header(f).name, {nullptr, &c, f}});
      }
    }
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.name < b.name; });
  // Two sources may contribute to one family (same name and type): their samples are merged so
  // the family appears once, as both formats require.
  for (const Entry& e : entries) {
    const MetricFamily& h = e.part.owned ? *e.part.owned : e.part.compact->header(e.part.index);
    const size_t n =
        e.part.owned ? e.part.owned->samples.size() : e.part.compact->sample_count(e.part.index);
    if (!g.merged.empty() && g.merged.back().header.name == h.name) {
      Merged& m = g.merged.back();
      // Same name, other type (an app exposing a name the agent already uses): the first source
      // keeps it; a second TYPE line would make the whole exposition invalid.
      if (m.header.type != h.type) continue;
      // A source with no series yet may list the family without HELP or unit (SelfMetrics
      // cannot read them back from prometheus-cpp): whichever source has them provides them.
      if (m.header.help.empty()) m.header.help = h.help;
      if (m.header.unit.empty()) m.header.unit = h.unit;
      m.parts.push_back(e.part);
      m.samples += n;
    } else {
      Merged m;
      m.header.name = h.name;
      m.header.help = h.help;
      m.header.type = h.type;
      m.header.unit = h.unit;
      m.parts.push_back(e.part);
      m.samples = n;
      g.merged.push_back(std::move(m));
    }
  }
  return g;
}

}  // namespace

std::vector<std::shared_ptr<Collectable>> MetricsRenderer::Live() const {
  std::vector<std::shared_ptr<Collectable>> live;
  std::lock_guard lock(mu_);
  std::erase_if(collectables_, [](const auto& w) { return w.expired(); });
  for (const auto& w : collectables_) {
    if (auto s = w.lock()) live.push_back(std::move(s));
  }
  return live;
}

std::vector<MetricFamily> MetricsRenderer::Gather() const {
  Gathered g = GatherAll(Live());
  std::vector<MetricFamily> out;
  out.reserve(g.merged.size());
  std::vector<Sample> chunk;
  for (Merged& m : g.merged) {
    MetricFamily f = std::move(m.header);
    f.samples.reserve(m.samples);
    for (const Part& p : m.parts) {
      if (p.owned) {
        f.samples.insert(f.samples.end(), std::make_move_iterator(p.owned->samples.begin()),
                         std::make_move_iterator(p.owned->samples.end()));
      } else {
        p.compact->Expand(p.index, 0, p.compact->sample_count(p.index), chunk);
        f.samples.insert(f.samples.end(), chunk.begin(), chunk.end());
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

RenderedMetrics MetricsRenderer::Render(std::string_view accept,
                                        std::string_view accept_encoding) const {
  const Format format = NegotiateFormat(accept);
  const Gathered g = GatherAll(Live());
  RenderedMetrics r;
  r.content_type = ContentType(format);
  r.format = format;
  const bool om = format == Format::kOpenMetrics100;
  const bool gzip = AcceptsGzip(accept_encoding);
  // Uncompressed, the body is written whole: reserved at the last one's size, so a large body
  // is not copied over and over as it grows. Compressed, the text is handed to a gzip stream
  // every kGzipPiece bytes, so a body with large scraped targets never holds its uncompressed
  // text: a body that stays under one piece is compressed whole at the end (libdeflate, twice
  // zlib's speed), a larger one streams (zlib).
  constexpr size_t kGzipPiece = size_t{256} * 1024;
  std::string& text = r.body;
  text.reserve(gzip ? kGzipPiece + kGzipPiece / 4
                    : std::max(last_size_.load(std::memory_order_relaxed), size_t{64} * 1024));
  std::unique_ptr<GzipStream> stream;
  bool stream_failed = false;
  auto maybe_flush = [&] {
    if (!gzip || stream_failed || text.size() < kGzipPiece) return;
    if (!stream) stream = std::make_unique<GzipStream>(1);
    if (!stream->Write(text).ok()) {
      stream_failed = true;
      return;
    }
    text.clear();
  };
  std::vector<Sample> chunk;
  for (const Merged& m : g.merged) {
    if (m.samples == 0) continue;
    if (om) {
      EncodeOpenMetricsHeader(m.header, text);
    } else {
      EncodeTextHeader(m.header, text);
    }
    for (const Part& p : m.parts) {
      if (p.owned) {
        if (om) {
          EncodeOpenMetricsSamples(m.header, p.owned->samples, text);
        } else {
          EncodeTextSamples(m.header, p.owned->samples, text);
        }
        maybe_flush();
        continue;
      }
      const size_t n = p.compact->sample_count(p.index);
      for (size_t begin = 0; begin < n; begin += kChunk) {
        p.compact->Expand(p.index, begin, kChunk, chunk);
        if (om) {
          EncodeOpenMetricsSamples(m.header, chunk, text);
        } else {
          EncodeTextSamples(m.header, chunk, text);
        }
        maybe_flush();
      }
    }
  }
  if (om) text += "# EOF\n";
  if (stream_failed) {
    // zlib could not even start (no memory) or failed midway: a body without compression.
    return Render(accept, "");
  }
  if (stream) {
    if (!stream->Write(text).ok()) return Render(accept, "");
    auto z = stream->Finish();
    if (!z.ok()) return Render(accept, "");
    r.body = std::move(z).value();
    r.gzip = true;
  } else {
    if (!gzip) last_size_.store(text.size(), std::memory_order_relaxed);
    if (gzip) {
      if (auto z = Gzip(text); z.ok()) {
        r.body = std::move(z).value();
        r.gzip = true;
      }
    }
  }
  return r;
}

}  // namespace lookout::prometheus
