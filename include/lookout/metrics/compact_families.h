#pragma once
// CompactFamilies: an immutable snapshot of metric families (metric.h's model) in a compact
// form, for sources that hold many series between scrapes (scraped application targets).
//
// Why: a Sample with four labels costs about 490 bytes in the model (the struct, a vector of
// eight std::string, the longer values on the heap). Here it costs its label values in one
// arena (label names are stored once and referred to by index) plus a 24-byte row: about 60
// bytes. The /metrics encoders read it a chunk of samples at a
// time (Expand), so serving it never needs a second full copy either.
//
// Everything the model can say is kept: labels in their order, values, buckets and quantiles
// with the text their `le` / `quantile` was written with, sum, count, created, timestamps and
// exemplars. Expand() gives back samples equal field by field to what went in (the fields the
// family's type uses, metric.h), with `target_labels` appended to each sample's labels.
//
// Thread-safety: immutable once made; every const method is safe from any thread.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout {

class CompactFamilies {
 public:
  // nullopt when the families' text or rows are over 4 Gi (offsets are 32-bit): only a body
  // near apps.limits.max_body_bytes's maximum (16 GiB) gets there; the scrape manager then
  // reports the target down with reason too_large.
  // `scrape_time_ms`: when the families were scraped (unix ms), if they were: the time of the
  // samples without their own timestamp. Expand leaves it out (/metrics serves such samples
  // without a timestamp, as Prometheus exposes them); remote write stamps them with it.
  static std::optional<CompactFamilies> Make(const std::vector<MetricFamily>& families,
                                             Labels target_labels,
                                             std::optional<int64_t> scrape_time_ms = std::nullopt);
  std::optional<int64_t> scrape_time_ms() const { return scrape_time_ms_; }

  size_t family_count() const { return families_.size(); }
  // Family i without its samples: name, help, type, unit.
  const MetricFamily& header(size_t i) const { return families_[i].header; }
  size_t sample_count(size_t i) const { return families_[i].sample_count; }

  // Samples [begin, begin + n) of family i into `out`, resized to n (at most what is left).
  // The strings and vectors `out` already holds are reused, so expanding chunk after chunk into
  // one vector allocates almost nothing. `with_target_labels` false: the samples' own labels
  // only (for readers that take the target labels apart, SharedFamilies).
  void Expand(size_t i, size_t begin, size_t n, std::vector<Sample>& out,
              bool with_target_labels = true) const;
  // Family i with all its samples.
  MetricFamily ExpandFamily(size_t i, bool with_target_labels = true) const;

  // Refilling: a later scrape of a body with the same series (app::SteadyShape) gives a copy
  // of this snapshot that shares its label text and names (nothing of them is copied) and
  // takes the new body's values. The copy is filled through a Refilling, which only Done()
  // turns into a CompactFamilies: as immutable as any other.
  //
  // Which value of a sample a body's line holds: its value (a counter, gauge, untyped or info
  // line, an OpenMetrics _total), its _created, a histogram's or summary's _sum or _count, the
  // k-th bucket of a histogram (in upper-bound order) or the k-th quantile of a summary (in
  // the order the body gave them).
  enum class Part : uint8_t { kValue, kCreated, kSum, kCount, kBucket, kQuantile };
  struct ValueRef {
    Part part = Part::kValue;
    uint32_t row = 0;  // in the table that holds the part
  };
  // Where family i's sample j keeps `part` (index: which bucket or quantile); nullopt if the
  // snapshot has no such value (e.g. _created of a sample without one).
  std::optional<ValueRef> Locate(size_t i, size_t j, Part part, size_t index = 0) const;

  class Refilling;  // a copy being filled (below)
  // A copy with every value as in this one, stamped `scrape_time_ms`.
  Refilling Refill(std::optional<int64_t> scrape_time_ms) const;

 private:
  struct Ref {  // a string in text_
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  static constexpr uint32_t kNone = UINT32_MAX;
  struct FamilyRow {
    MetricFamily header;  // samples empty
    uint32_t first_sample = 0;
    uint32_t sample_count = 0;
  };
  struct SampleRow {
    Ref labels;  // per label: LEB128 index in names_, LEB128 value size, value
    double value = 0;
    uint32_t parts = kNone;   // histogram / summary: index in parts_
    uint32_t extras = kNone;  // created, timestamp or exemplar: index in extras_
  };
  struct PartsRow {
    double sum = 0;
    uint64_t count = 0;
    uint32_t first = 0;  // in buckets_ (histogram) or quantiles_ (summary)
    uint32_t size = 0;
  };
  struct BucketRow {
    double upper_bound = 0;
    uint64_t cumulative_count = 0;
    Ref le;
    uint32_t exemplar = kNone;  // index in exemplars_
  };
  struct QuantileRow {
    double quantile = 0;
    double value = 0;
    Ref text;
  };
  struct ExtrasRow {
    std::optional<double> created;
    std::optional<int64_t> timestamp_ms;
    uint32_t exemplar = kNone;
  };

  CompactFamilies() = default;
  std::string_view View(Ref r) const { return std::string_view(*text_).substr(r.offset, r.size); }
  void ExpandSample(MetricType type, const SampleRow& row, const Labels& tail, Sample& s) const;

  // Shared by the copies Refill makes; never changed once made.
  std::shared_ptr<const std::string> text_;
  std::shared_ptr<const std::vector<std::string>> names_;  // label names, each once
  std::vector<FamilyRow> families_;
  std::vector<SampleRow> samples_;
  std::vector<PartsRow> parts_;
  std::vector<BucketRow> buckets_;
  std::vector<QuantileRow> quantiles_;
  std::vector<ExtrasRow> extras_;
  std::vector<Exemplar> exemplars_;
  Labels target_labels_;
  std::optional<int64_t> scrape_time_ms_;
};

// A copy of a CompactFamilies being filled (one thread), from Refill.
class CompactFamilies::Refilling {
 public:
  // kCount and kBucket take a count (app::detail::IsCount), which the caller checks.
  void Set(ValueRef ref, double value);
  // Whether every histogram's buckets never decrease and its last one (+Inf) equals its
  // count: what the parser requires of a histogram series (else it is not written as one).
  bool HistogramsConsistent() const;
  CompactFamilies Done() && { return std::move(c_); }

 private:
  friend class CompactFamilies;
  explicit Refilling(CompactFamilies c) : c_(std::move(c)) {}
  CompactFamilies c_;
};

}  // namespace lookout
