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
  // Per source: its compact families, then its owned ones (a scrape manager's targets before
  // its own lookout_scrape_* families, as when it handed both over whole), so a stable sort by
  // name keeps that order for each name: the first one's type wins.
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
    for (size_t i = compact_ranges[src].first; i < compact_ranges[src].second; ++i) {
      const CompactFamilies& c = *g.compact[i];
      for (size_t f = 0; f < c.family_count(); ++f) {
        entries.push_back({c.header(f).name, {nullptr, &c, f}});
      }
    }
    for (size_t i = owned_ranges[src].first; i < owned_ranges[src].second; ++i) {
      entries.push_back({g.owned[i].name, {&g.owned[i], nullptr, 0}});
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

std::vector<MetricFamily> MetricsRenderer::Gather(bool with_scrape_times) const {
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
        if (const auto t = p.compact->scrape_time_ms(); with_scrape_times && t) {
          for (Sample& s : chunk) {
            if (!s.timestamp_ms) s.timestamp_ms = t;
          }
        }
        f.samples.insert(f.samples.end(), std::make_move_iterator(chunk.begin()),
                         std::make_move_iterator(chunk.end()));
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
  // is not copied over and over as it grows. Compressed, a body that stays under kGzipWhole is
  // compressed whole at the end (libdeflate, twice zlib's speed: a node's body is 100-300 KiB);
  // a larger one (many pods, big scraped targets) goes to a zlib stream from there on,
  // kGzipPiece at a time, so it never holds more than about kGzipWhole of uncompressed text.
  constexpr size_t kGzipWhole = size_t{1} << 20;
  constexpr size_t kGzipPiece = size_t{256} << 10;
  std::string& text = r.body;
  const size_t guess = std::max(last_size_.load(std::memory_order_relaxed), size_t{64} << 10);
  text.reserve(gzip ? std::min(guess, kGzipWhole + kGzipPiece) : guess);
  size_t streamed = 0;  // uncompressed bytes already handed to the stream
  std::unique_ptr<GzipStream> stream;
  bool stream_failed = false;
  auto maybe_flush = [&] {
    if (!gzip || stream_failed || text.size() < (stream ? kGzipPiece : kGzipWhole)) return;
    if (!stream) stream = std::make_unique<GzipStream>(1);
    if (!stream->Write(text).ok()) {
      stream_failed = true;
      return;
    }
    streamed += text.size();
    text.clear();
  };
  const auto encode_header = om ? EncodeOpenMetricsHeader : EncodeTextHeader;
  const auto encode_samples = om ? EncodeOpenMetricsSamples : EncodeTextSamples;
  std::vector<Sample> chunk;
  for (const Merged& m : g.merged) {
    if (m.samples == 0) continue;
    encode_header(m.header, text);
    for (const Part& p : m.parts) {
      if (p.owned) {
        encode_samples(m.header, p.owned->samples, text);
        maybe_flush();
        continue;
      }
      const size_t n = p.compact->sample_count(p.index);
      for (size_t begin = 0; begin < n; begin += kChunk) {
        p.compact->Expand(p.index, begin, kChunk, chunk);
        encode_samples(m.header, chunk, text);
        maybe_flush();
      }
    }
  }
  if (om) text += "# EOF\n";
  last_size_.store(streamed + text.size(), std::memory_order_relaxed);  // the next one's guess
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
  } else if (gzip) {
    if (auto z = Gzip(text); z.ok()) {
      r.body = std::move(z).value();
      r.gzip = true;
    }
  }
  return r;
}

}  // namespace lookout::prometheus
