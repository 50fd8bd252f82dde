#include "lookout/metrics/compact_families.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace lookout {
namespace {

void AppendSize(std::string& out, size_t n) {  // LEB128
  while (n >= 0x80) {
    out += static_cast<char>((n & 0x7f) | 0x80);
    n >>= 7;
  }
  out += static_cast<char>(n);
}

size_t SizeOfSize(size_t n) {  // bytes AppendSize writes for n
  size_t bytes = 1;
  for (; n >= 0x80; n >>= 7) ++bytes;
  return bytes;
}

// Reads what AppendSize wrote; the text was written by Make, so it is well formed.
size_t ReadSize(std::string_view s, size_t& i) {
  size_t n = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(s[i++]);
    n |= static_cast<size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return n;
  }
}

// std::string::assign keeps the capacity the string already has: expanding into reused samples
// allocates only when a value is longer than anything that slot held before.
void AssignLabels(std::string_view encoded, const std::vector<std::string>& names,
                  const Labels& tail, Labels& out) {
  size_t n = 0;
  for (size_t i = 0; i < encoded.size(); ++n) {
    ReadSize(encoded, i);
    i += ReadSize(encoded, i);
  }
  out.resize(n + tail.size());
  size_t i = 0;
  for (size_t k = 0; k < n; ++k) {
    out[k].name.assign(names[ReadSize(encoded, i)]);
    const size_t len = ReadSize(encoded, i);
    out[k].value.assign(encoded.substr(i, len));
    i += len;
  }
  for (size_t k = 0; k < tail.size(); ++k) {
    out[n + k].name.assign(tail[k].name);
    out[n + k].value.assign(tail[k].value);
  }
}

}  // namespace

std::optional<CompactFamilies> CompactFamilies::Make(const std::vector<MetricFamily>& families,
                                                     Labels target_labels,
                                                     std::optional<int64_t> scrape_time_ms) {
  CompactFamilies c;
  // Built here, then shared by every refill of this snapshot (Refill): they never change.
  std::string text;
  std::vector<std::string> names;
  c.target_labels_ = std::move(target_labels);
  c.scrape_time_ms_ = scrape_time_ms;
  // Sized first, so every vector holds exactly what it needs (no growth slack to pay for).
  size_t samples = 0, parts = 0, buckets = 0, quantiles = 0, extras = 0, exemplars = 0;
  size_t text_size = 0;
  for (const auto& f : families) {
    samples += f.samples.size();
    for (const auto& s : f.samples) {
      // A label name is an index into names (one byte while there are fewer than 128).
      for (const auto& l : s.labels) text_size += 1 + SizeOfSize(l.value.size()) + l.value.size();
      if (f.type == MetricType::kHistogram || f.type == MetricType::kSummary) ++parts;
      buckets += s.buckets.size();
      quantiles += s.quantiles.size();
      for (const auto& b : s.buckets) {
        text_size += b.le.size();
        exemplars += b.exemplar ? 1 : 0;
      }
      for (const auto& q : s.quantiles) text_size += q.text.size();
      if (s.created || s.timestamp_ms || s.exemplar) ++extras;
      exemplars += s.exemplar ? 1 : 0;
    }
  }
  if (text_size >= std::numeric_limits<uint32_t>::max() ||
      samples + buckets + quantiles >= std::numeric_limits<uint32_t>::max()) {
    return std::nullopt;
  }
  text.reserve(text_size);
  c.families_.reserve(families.size());
  c.samples_.reserve(samples);
  c.parts_.reserve(parts);
  c.buckets_.reserve(buckets);
  c.quantiles_.reserve(quantiles);
  c.extras_.reserve(extras);
  c.exemplars_.reserve(exemplars);

  auto put = [&text](std::string_view s) {
    const Ref r{static_cast<uint32_t>(text.size()), static_cast<uint32_t>(s.size())};
    text.append(s);
    return r;
  };
  auto put_exemplar = [&c](const std::optional<Exemplar>& e) {
    if (!e) return kNone;
    c.exemplars_.push_back(*e);
    return static_cast<uint32_t>(c.exemplars_.size() - 1);
  };
  // Label names are few (a target's label names, not its values): each is stored once. Labels
  // at one position usually repeat the previous sample's name there, so that is tried first.
  std::unordered_map<std::string_view, uint32_t> name_index;
  std::vector<std::pair<std::string_view, uint32_t>> last_at;
  auto index_of = [&](size_t position, const std::string& name) {
    if (position < last_at.size() && last_at[position].first == name) {
      return last_at[position].second;
    }
    auto [it, inserted] = name_index.try_emplace(name, static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(name);
    if (position >= last_at.size()) last_at.resize(position + 1);
    last_at[position] = {name, it->second};
    return it->second;
  };
  for (const auto& f : families) {
    FamilyRow fr;
    fr.header.name = f.name;
    fr.header.help = f.help;
    fr.header.type = f.type;
    fr.header.unit = f.unit;
    fr.first_sample = static_cast<uint32_t>(c.samples_.size());
    fr.sample_count = static_cast<uint32_t>(f.samples.size());
    c.families_.push_back(std::move(fr));
    for (const auto& s : f.samples) {
      SampleRow row;
      const size_t start = text.size();
      for (size_t k = 0; k < s.labels.size(); ++k) {
        const Label& l = s.labels[k];
        AppendSize(text, index_of(k, l.name));
        AppendSize(text, l.value.size());
        text += l.value;
      }
      row.labels = {static_cast<uint32_t>(start), static_cast<uint32_t>(text.size() - start)};
      row.value = s.value;
      if (f.type == MetricType::kHistogram || f.type == MetricType::kSummary) {
        PartsRow p;
        p.sum = s.sum;
        p.count = s.count;
        if (f.type == MetricType::kHistogram) {
          p.first = static_cast<uint32_t>(c.buckets_.size());
          p.size = static_cast<uint32_t>(s.buckets.size());
          for (const auto& b : s.buckets) {
            c.buckets_.push_back(
                {b.upper_bound, b.cumulative_count, put(b.le), put_exemplar(b.exemplar)});
          }
        } else {
          p.first = static_cast<uint32_t>(c.quantiles_.size());
          p.size = static_cast<uint32_t>(s.quantiles.size());
          for (const auto& q : s.quantiles)
            c.quantiles_.push_back({q.quantile, q.value, put(q.text)});
        }
        row.parts = static_cast<uint32_t>(c.parts_.size());
        c.parts_.push_back(p);
      }
      if (s.created || s.timestamp_ms || s.exemplar) {
        row.extras = static_cast<uint32_t>(c.extras_.size());
        c.extras_.push_back({s.created, s.timestamp_ms, put_exemplar(s.exemplar)});
      }
      c.samples_.push_back(row);
    }
  }
  if (text.size() >= std::numeric_limits<uint32_t>::max()) return std::nullopt;
  // Over 127 label names took more index bytes than reserved: give back what the string's
  // growth left unused.
  if (text.capacity() > text.size() + text.size() / 8) text.shrink_to_fit();
  c.text_ = std::make_shared<const std::string>(std::move(text));
  c.names_ = std::make_shared<const std::vector<std::string>>(std::move(names));
  return c;
}

void CompactFamilies::ExpandSample(MetricType type, const SampleRow& row, const Labels& tail,
                                   Sample& s) const {
  AssignLabels(View(row.labels), *names_, tail, s.labels);
  s.value = row.value;
  s.sum = 0;
  s.count = 0;
  size_t buckets = 0, quantiles = 0;
  if (row.parts != kNone) {
    const PartsRow& p = parts_[row.parts];
    s.sum = p.sum;
    s.count = p.count;
    if (type == MetricType::kHistogram) {
      buckets = p.size;
      s.buckets.resize(buckets);  // resize, not clear: the `le` strings keep their capacity
      for (uint32_t k = 0; k < p.size; ++k) {
        const BucketRow& br = buckets_[p.first + k];
        Bucket& b = s.buckets[k];
        b.upper_bound = br.upper_bound;
        b.cumulative_count = br.cumulative_count;
        b.le.assign(View(br.le));
        b.exemplar.reset();
        if (br.exemplar != kNone) b.exemplar = exemplars_[br.exemplar];
      }
    } else {
      quantiles = p.size;
      s.quantiles.resize(quantiles);
      for (uint32_t k = 0; k < p.size; ++k) {
        const QuantileRow& qr = quantiles_[p.first + k];
        s.quantiles[k].quantile = qr.quantile;
        s.quantiles[k].value = qr.value;
        s.quantiles[k].text.assign(View(qr.text));
      }
    }
  }
  s.buckets.resize(buckets);
  s.quantiles.resize(quantiles);
  s.created.reset();
  s.timestamp_ms.reset();
  s.exemplar.reset();
  if (row.extras != kNone) {
    const ExtrasRow& e = extras_[row.extras];
    s.created = e.created;
    s.timestamp_ms = e.timestamp_ms;
    if (e.exemplar != kNone) s.exemplar = exemplars_[e.exemplar];
  }
}

void CompactFamilies::Expand(size_t i, size_t begin, size_t n, std::vector<Sample>& out,
                             bool with_target_labels) const {
  static const Labels kNoLabels;
  const Labels& tail = with_target_labels ? target_labels_ : kNoLabels;
  const FamilyRow& f = families_[i];
  begin = std::min<size_t>(begin, f.sample_count);
  n = std::min(n, f.sample_count - begin);
  out.resize(n);
  for (size_t k = 0; k < n; ++k) {
    ExpandSample(f.header.type, samples_[f.first_sample + begin + k], tail, out[k]);
  }
}

MetricFamily CompactFamilies::ExpandFamily(size_t i, bool with_target_labels) const {
  MetricFamily f = families_[i].header;
  Expand(i, 0, families_[i].sample_count, f.samples, with_target_labels);
  return f;
}

std::optional<CompactFamilies::ValueRef> CompactFamilies::Locate(size_t i, size_t j, Part part,
                                                                 size_t index) const {
  if (i >= families_.size() || j >= families_[i].sample_count) return std::nullopt;
  const uint32_t r = families_[i].first_sample + static_cast<uint32_t>(j);
  const SampleRow& row = samples_[r];
  switch (part) {
    case Part::kValue:
      return ValueRef{part, r};
    case Part::kCreated:
      if (row.extras == kNone || !extras_[row.extras].created) return std::nullopt;
      return ValueRef{part, row.extras};
    case Part::kSum:
    case Part::kCount:
      if (row.parts == kNone) return std::nullopt;
      return ValueRef{part, row.parts};
    case Part::kBucket:
    case Part::kQuantile: {
      const bool hist = families_[i].header.type == MetricType::kHistogram;
      if (row.parts == kNone || hist != (part == Part::kBucket)) return std::nullopt;
      const PartsRow& p = parts_[row.parts];
      if (index >= p.size) return std::nullopt;
      return ValueRef{part, p.first + static_cast<uint32_t>(index)};
    }
  }
  return std::nullopt;
}

CompactFamilies::Refilling CompactFamilies::Refill(std::optional<int64_t> scrape_time_ms) const {
  CompactFamilies c = *this;  // the text and names by pointer, the rows by value
  c.scrape_time_ms_ = scrape_time_ms;
  return Refilling(std::move(c));
}

void CompactFamilies::Refilling::Set(ValueRef ref, double value) {
  switch (ref.part) {
    case Part::kValue:
      c_.samples_[ref.row].value = value;
      break;
    case Part::kCreated:
      c_.extras_[ref.row].created = value;
      break;
    case Part::kSum:
      c_.parts_[ref.row].sum = value;
      break;
    case Part::kCount:
      c_.parts_[ref.row].count = static_cast<uint64_t>(value);
      break;
    case Part::kBucket:
      c_.buckets_[ref.row].cumulative_count = static_cast<uint64_t>(value);
      break;
    case Part::kQuantile:
      c_.quantiles_[ref.row].value = value;
      break;
  }
}

bool CompactFamilies::Refilling::HistogramsConsistent() const {
  for (const FamilyRow& f : c_.families_) {
    if (f.header.type != MetricType::kHistogram) continue;
    for (uint32_t j = 0; j < f.sample_count; ++j) {
      const SampleRow& row = c_.samples_[f.first_sample + j];
      if (row.parts == kNone) continue;
      const PartsRow& p = c_.parts_[row.parts];
      if (p.size == 0) continue;
      const BucketRow* b = &c_.buckets_[p.first];
      for (uint32_t k = 1; k < p.size; ++k) {
        if (b[k].cumulative_count < b[k - 1].cumulative_count) return false;
      }
      if (b[p.size - 1].cumulative_count != p.count) return false;
    }
  }
  return true;
}

}  // namespace lookout
