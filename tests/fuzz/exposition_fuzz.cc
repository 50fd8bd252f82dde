// Fuzzes the Prometheus text / OpenMetrics parser that reads scraped application bodies. The
// first byte picks the format (bit 0) and whether metric_relabel_configs run (bit 1: a rule of
// every action over whatever labels the body brings). Beyond "never crash": whatever parses must
// survive the round trip through our own encoders (the agent re-exposes it), so the re-encoded text
// parses again; and the steady-shape path must read a body as the full parse does.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/collectors/app/exposition_parser.h"
#include "agent/collectors/app/steady_shape.h"
#include "exporters/prometheus/openmetrics_encoder.h"
#include "exporters/prometheus/text_encoder.h"

namespace {

lookout::Relabeler EveryAction() {
  using lookout::RelabelAction;
  auto rule = [](RelabelAction a, std::vector<std::string> src, std::string regex,
                 std::string target, std::string replacement) {
    lookout::RelabelConfig c;
    c.action = a;
    c.source_labels = std::move(src);
    c.regex = std::move(regex);
    c.regex_set = a != RelabelAction::kKeepEqual && a != RelabelAction::kDropEqual;
    c.target_label = std::move(target);
    c.replacement = std::move(replacement);
    if (a == RelabelAction::kHashMod) c.modulus = 4;
    return c;
  };
  auto made = lookout::Relabeler::Make({
      rule(RelabelAction::kReplace, {"__name__", "a"}, "(.)(.*);(.*)", "x_$1", "${2}-$3$$"),
      rule(RelabelAction::kReplace, {"__name__"}, "(.*)_bucket", "__name__", "${1}_b"),
      rule(RelabelAction::kLowercase, {"le", "quantile"}, "(.*)", "lc", "$1"),
      rule(RelabelAction::kUppercase, {"a"}, "(.*)", "uc", "$1"),
      rule(RelabelAction::kHashMod, {"__name__"}, "(.*)", "shard", "$1"),
      rule(RelabelAction::kLabelMap, {}, "(a|b)(.*)", "", "m_$1$2"),
      rule(RelabelAction::kDropEqual, {"a"}, "(.*)", "b", "$1"),
      rule(RelabelAction::kKeep, {"shard"}, "[0-2]", "", "$1"),
      rule(RelabelAction::kDrop, {"lc"}, "0\\.5", "", "$1"),
      rule(RelabelAction::kLabelDrop, {}, "quantile", "", "$1"),
      rule(RelabelAction::kLabelKeep, {}, "__name__|le|[a-m].*|shard|job|instance", "", "$1"),
      rule(RelabelAction::kKeepEqual, {"job"}, "(.*)", "job", "$1"),
  });
  if (!made.ok()) abort();
  return std::move(made).value();
}

std::string Rendered(const lookout::CompactFamilies& c) {
  std::vector<lookout::MetricFamily> families;
  for (size_t i = 0; i < c.family_count(); ++i) families.push_back(c.ExpandFamily(i));
  std::string out;
  lookout::prometheus::EncodeOpenMetrics(families, out);
  return out;
}

// The steady-shape path (steady_shape.h) against the full parse: a body learned from must be
// read back through its shape as the same result, and a body with its digits changed, when the
// shape takes it, must read as a full parse of it does.
void CheckSteadyShape(std::string_view in, lookout::app::ExpositionFormat format,
                      const lookout::app::ParseOptions& opt,
                      const std::vector<lookout::MetricFamily>& parsed,
                      const lookout::app::LineTrace& trace) {
  using namespace lookout;
  const Labels target = opt.relabel ? Labels{} : opt.target_labels;
  auto made = CompactFamilies::Make(parsed, target, 1);
  if (!made) return;
  auto shape = app::SteadyShape::Learn(in, format, opt.target_labels, trace, *made);
  if (!shape) return;
  auto same = shape->Apply(in, format, opt.target_labels, *made, 2);
  if (!same || Rendered(*same) != Rendered(*made)) {
    fprintf(stderr, "the learned body does not read back through its shape\n");
    abort();
  }
  // Two changed bodies: every digit shifted (names and labels too, so mostly refused), and
  // each line's last token (the value, in a body with a shape) replaced by another value.
  std::string digits(in);
  for (char& ch : digits) {
    if (ch >= '0' && ch <= '9') ch = static_cast<char>('0' + (ch - '0' + 7) % 10);
  }
  static const char* const kValues[] = {"NaN", "+Inf", "-0",     "1.5", "9007199254740994",
                                        "3",   "-Inf", "1e-400", "7",   "1"};
  std::string values;
  size_t n = 0;
  for (size_t pos = 0; pos <= in.size();) {
    size_t end = in.find('\n', pos);
    if (end == std::string_view::npos) end = in.size();
    std::string_view line = in.substr(pos, end - pos);
    const size_t blank = line.find_last_of(" \t");
    if (!line.empty() && line[0] != '#' && blank != std::string_view::npos) {
      values.append(line.substr(0, blank + 1));
      values.append(kValues[n++ % std::size(kValues)]);
    } else {
      values.append(line);
    }
    if (end < in.size()) values.push_back('\n');
    pos = end + 1;
  }
  for (const std::string& next : {digits, values}) {
    auto applied = shape->Apply(next, format, opt.target_labels, *made, 2);
    if (!applied) continue;
    app::ParseStats stats;
    auto full = app::ParseExposition(next, format, opt, &stats);
    std::optional<CompactFamilies> full_made;
    if (full.ok()) full_made = CompactFamilies::Make(*full, target, 2);
    if (!full_made || Rendered(*applied) != Rendered(*full_made) ||
        stats.samples != shape->sample_lines()) {
      fprintf(stderr, "the shape read a body differently from a full parse:\n%s\n", next.c_str());
      abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  using namespace lookout;
  static const Relabeler kRules = EveryAction();
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto format =
      data[0] % 2 ? app::ExpositionFormat::kOpenMetrics : app::ExpositionFormat::kText;
  app::ParseOptions opt;
  opt.limits.max_samples = 10000;
  opt.target_labels = {{"job", "fuzz"}, {"instance", "x:1"}};
  if (data[0] & 2) opt.relabel = &kRules;
  app::LineTrace trace;
  auto parsed = app::ParseExposition(in, format, opt, nullptr, {}, &trace);
  if (!parsed.ok()) return 0;
  CheckSteadyShape(in, format, opt, *parsed, trace);
  // Reusing an earlier result's memory (as the scrape manager does) must give the same output:
  // parse again recycling a copy of the first result, and compare the renderings.
  {
    auto again = app::ParseExposition(in, format, opt, nullptr, *parsed);
    std::string a, b;
    prometheus::EncodeOpenMetrics(*parsed, a);
    if (again.ok()) prometheus::EncodeOpenMetrics(*again, b);
    if (!again.ok() || a != b) {
      fprintf(stderr, "recycled parse differs:\n%s\n---\n%s\n", a.c_str(), b.c_str());
      abort();
    }
  }
  std::string text;
  prometheus::EncodeText(*parsed, text);
  std::string om;
  prometheus::EncodeOpenMetrics(*parsed, om);
  app::ParseOptions plain;
  plain.limits.max_samples = 1 << 20;
  plain.limits.max_labels = 1 << 10;
  auto again = app::ParseExposition(text, app::ExpositionFormat::kText, plain);
  if (!again.ok()) {
    fprintf(stderr, "re-encoded text does not parse: %s\n%s\n", again.error().detail.c_str(),
            text.c_str());
    abort();
  }
  auto again_om = app::ParseExposition(om, app::ExpositionFormat::kOpenMetrics, plain);
  if (!again_om.ok()) {
    fprintf(stderr, "re-encoded OpenMetrics does not parse: %s\n%s\n",
            again_om.error().detail.c_str(), om.c_str());
    abort();
  }
  return 0;
}
