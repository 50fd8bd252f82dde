#include "agent/collectors/app/steady_shape.h"

#include <cstring>

#include "agent/collectors/app/exposition_values.h"

namespace lookout::app {
namespace {

using detail::IsCount;
using detail::IsNameChar;
using detail::ParseGoFloat;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The value of a text sample line after its series (promlex.l, as TextSample reads it): blanks,
// a value up to a blank or '{', blanks, and nothing more (a timestamp is not taken here).
bool TextValue(std::string_view line, size_t i, double& value) {
  while (i < line.size() && IsBlank(line[i])) ++i;
  const size_t start = i;
  while (i < line.size() && !IsBlank(line[i]) && line[i] != '{') ++i;
  if (i == start || !ParseGoFloat(line.substr(start, i - start), value)) return false;
  while (i < line.size() && IsBlank(line[i])) ++i;
  return i == line.size();
}

// The value of an OpenMetrics sample line after its series (as OmSample reads it): one space
// and a value to the end of the line (no timestamp, no exemplar).
bool OpenMetricsValue(std::string_view line, size_t i, double& value) {
  if (i >= line.size() || line[i] != ' ') return false;
  const std::string_view token = line.substr(i + 1);
  if (token.find(' ') != std::string_view::npos) return false;
  return ParseGoFloat(token, value);
}

}  // namespace

std::optional<SteadyShape> SteadyShape::Learn(std::string_view body, ExpositionFormat format,
                                              const Labels& target_labels, const LineTrace& trace,
                                              const CompactFamilies& result) {
  if (!trace.complete) return std::nullopt;
  SteadyShape shape;
  shape.format_ = format;
  shape.target_labels_ = target_labels;
  size_t key_bytes = 0;
  for (const auto& l : trace.lines) key_bytes += l.key_size;
  shape.keys_.reserve(key_bytes);
  shape.lines_.reserve(trace.lines.size());
  for (const auto& l : trace.lines) {
    if (static_cast<size_t>(l.start) + l.key_size > body.size()) return std::nullopt;
    shape.keys_.append(body.substr(l.start, l.key_size));
    Line& line = shape.lines_.emplace_back();
    line.key_size = l.key_size;
    line.kind = l.kind;
    if (l.kind == LineTrace::Kind::kComment) continue;
    ++shape.sample_lines_;
    if (l.kind == LineTrace::Kind::kDropped) continue;
    const auto ref = result.Locate(l.family, l.sample, l.part, l.index_in_sample);
    if (!ref) return std::nullopt;
    line.row = ref->row;
    line.part = ref->part;
    using Part = CompactFamilies::Part;
    if (l.part == Part::kCount || l.part == Part::kBucket) {
      line.check = Check::kCount;
    } else if (l.part == Part::kValue && result.header(l.family).type == MetricType::kInfo) {
      line.check = Check::kInfoOne;  // the parser makes the family untyped otherwise
    }
  }
  return shape;
}

std::optional<CompactFamilies> SteadyShape::Apply(std::string_view body, ExpositionFormat format,
                                                  const Labels& target_labels,
                                                  const CompactFamilies& base,
                                                  int64_t scrape_time_ms) const {
  // Every key is in the body, so a shorter body cannot have the shape.
  if (format != format_ || target_labels != target_labels_ || body.size() < keys_.size()) {
    return std::nullopt;
  }
  const bool om = format == ExpositionFormat::kOpenMetrics;
  // The values first, in line order: the copy is made only once every line has matched.
  std::vector<double> values;
  values.reserve(lines_.size());
  size_t next = 0;    // in lines_
  size_t key_at = 0;  // in keys_
  size_t pos = 0;     // in body
  while (pos < body.size()) {
    const void* nl = std::memchr(body.data() + pos, '\n', body.size() - pos);
    const size_t end = nl != nullptr
                           ? static_cast<size_t>(static_cast<const char*>(nl) - body.data())
                           : body.size();
    const std::string_view line = body.substr(pos, end - pos);
    pos = end + 1;
    if (!om) {
      // Text: blank and whitespace-only lines are skipped, as the parser skips them.
      size_t i = 0;
      while (i < line.size() && IsBlank(line[i])) ++i;
      if (i == line.size()) continue;
    }
    if (next == lines_.size()) return std::nullopt;  // a line more than learned
    const Line& l = lines_[next++];
    const std::string_view key(keys_.data() + key_at, l.key_size);
    key_at += l.key_size;
    if (l.kind == LineTrace::Kind::kComment) {
      if (line != key) return std::nullopt;
      continue;
    }
    if (line.size() < key.size() || std::memcmp(line.data(), key.data(), key.size()) != 0) {
      return std::nullopt;
    }
    // A key without labels ends where the name did: the new line's name must end there too.
    if (key.back() != '}' && line.size() > key.size() && IsNameChar(line[key.size()])) {
      return std::nullopt;
    }
    double value = 0;
    const bool read =
        om ? OpenMetricsValue(line, key.size(), value) : TextValue(line, key.size(), value);
    if (!read) return std::nullopt;  // a timestamp, an exemplar, or an error the parser reports
    if ((l.check == Check::kCount && !IsCount(value)) ||
        (l.check == Check::kInfoOne && value != 1)) {
      return std::nullopt;
    }
    values.push_back(value);
  }
  if (next != lines_.size()) return std::nullopt;
  CompactFamilies::Refilling out = base.Refill(scrape_time_ms);
  size_t v = 0;
  for (const Line& l : lines_) {
    if (l.kind == LineTrace::Kind::kSample) out.Set({l.part, l.row}, values[v]);
    if (l.kind != LineTrace::Kind::kComment) ++v;
  }
  if (!out.HistogramsConsistent()) return std::nullopt;
  return std::move(out).Done();
}

}  // namespace lookout::app
