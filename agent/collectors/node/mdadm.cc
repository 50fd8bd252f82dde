// mdadm: md arrays from /proc/mdstat (node_md_*), read as node_exporter 1.5 (procfs) reads them.
// No /proc/mdstat (no md driver) is not a failure here: no series, success 1 (node_exporter
// reports success 0).
#include "agent/collectors/node/mdadm.h"

#include <algorithm>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {
namespace {

size_t Count(std::string_view s, std::string_view sub) {
  size_t n = 0;
  for (size_t p = s.find(sub); p != std::string_view::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t DigitsAt(std::string_view s, size_t i) {
  size_t n = 0;
  while (i + n < s.size() && IsDigit(s[i + n])) ++n;
  return n;
}

// `\[(\d+)/(\d+)\] \[([U_]+)\]` anchored at i: fills the two numbers' text and the U/_ run.
bool DisksAt(std::string_view s, size_t i, std::string_view& total, std::string_view& active,
             std::string_view& flags) {
  if (i >= s.size() || s[i] != '[') return false;
  ++i;
  const size_t t = DigitsAt(s, i);
  if (t == 0) return false;
  total = s.substr(i, t);
  i += t;
  if (i >= s.size() || s[i] != '/') return false;
  ++i;
  const size_t a = DigitsAt(s, i);
  if (a == 0) return false;
  active = s.substr(i, a);
  i += a;
  if (s.substr(i, 3) != "] [") return false;
  i += 3;
  size_t u = 0;
  while (i + u < s.size() && (s[i + u] == 'U' || s[i + u] == '_')) ++u;
  if (u == 0 || i + u >= s.size() || s[i + u] != ']') return false;
  flags = s.substr(i, u);
  return true;
}

// procfs's statusLineRE, `(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]`, with Go's leftmost-first
// semantics: after the first "<digits> blocks ", the greedy `.*` settles on the last place
// where the disk counts match.
bool MatchStatusLine(std::string_view s, std::string_view& total, std::string_view& active,
                     std::string_view& flags) {
  size_t after = std::string_view::npos;
  for (size_t p = s.find(" blocks "); p != std::string_view::npos; p = s.find(" blocks ", p + 1)) {
    if (p > 0 && IsDigit(s[p - 1])) {
      after = p + 8;
      break;
    }
  }
  if (after == std::string_view::npos) return false;
  for (size_t r = s.size(); r-- > after;) {
    if (s[r] == '[' && DisksAt(s, r, total, active, flags)) return true;
  }
  return false;
}

// `<prefix>(.+)<suffix-rule>` with a greedy group: from the first `prefix` to the last place
// the suffix matches with at least one character in between. `suffix_at(s, j)` says whether the
// suffix starts at j.
template <typename SuffixAt>
bool GreedyGroup(std::string_view s, std::string_view prefix, SuffixAt suffix_at,
                 std::string_view& group) {
  const size_t p = s.find(prefix);
  if (p == std::string_view::npos) return false;
  const size_t start = p + prefix.size();
  for (size_t j = s.size(); j-- > start + 1;) {
    if (suffix_at(s, j)) {
      group = s.substr(start, j - start);
      return true;
    }
  }
  return false;
}

// procfs's evalRecoveryLine: the synced block count, and (checked, then discarded, as
// node_exporter does not expose them) percentage, estimated finish and speed.
Result<int64_t> EvalRecoveryLine(std::string_view line) {
  // `\((\d+)/\d+\)`, leftmost.
  std::optional<int64_t> synced;
  for (size_t p = line.find('('); p != std::string_view::npos && !synced;
       p = line.find('(', p + 1)) {
    const size_t a = DigitsAt(line, p + 1);
    if (a == 0 || p + 1 + a >= line.size() || line[p + 1 + a] != '/') continue;
    const size_t b = DigitsAt(line, p + 2 + a);
    if (b == 0 || p + 2 + a + b >= line.size() || line[p + 2 + a + b] != ')') continue;
    synced = ParseGoInt(line.substr(p + 1, a), 10);
    if (!synced) return MakeError("parse", "md sync line: synced block count out of range");
  }
  if (!synced) return MakeError("parse", "md sync line without (done/total)");
  std::string_view g;
  if (!GreedyGroup(
          line, "= ", [](std::string_view s, size_t j) { return s[j] == '%'; }, g) ||
      !ParseGoFloat(TrimGoSpace(g))) {
    return MakeError("parse", "md sync line without a percentage");
  }
  if (!GreedyGroup(
          line, "finish=", [](std::string_view s, size_t j) { return s.substr(j, 3) == "min"; },
          g) ||
      !ParseGoFloat(g)) {
    return MakeError("parse", "md sync line without finish=...min");
  }
  if (!GreedyGroup(
          line, "speed=", [](std::string_view s, size_t j) { return s[j] >= 'A' && s[j] <= 'Z'; },
          g) ||
      !ParseGoFloat(g)) {
    return MakeError("parse", "md sync line without speed=...");
  }
  return *synced;
}

}  // namespace

Result<std::vector<MdStat>> ParseMdstat(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t pos = 0;;) {  // Go's strings.Split(text, "\n"): n newlines give n+1 lines
    const size_t nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  std::vector<MdStat> out;
  std::vector<std::string_view> fields;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (TrimGoSpace(line).empty() || line[0] == ' ' || line.starts_with("Personalities") ||
        line.starts_with("unused")) {
      continue;
    }
    SplitGoFields(line, fields);
    if (fields.size() < 3) return MakeError("parse", "mdstat device line with fewer than 3 words");
    MdStat md;
    md.name = std::string(fields[0]);
    md.activity_state = std::string(fields[2]);
    if (lines.size() <= i + 3) {
      return MakeError("parse", "mdstat: too few lines for " + md.name);
    }
    md.disks_failed = static_cast<int64_t>(Count(line, "(F)"));
    md.disks_spare = static_cast<int64_t>(Count(line, "(S)"));

    // evalStatusLine
    const std::string_view status = lines[i + 1];
    SplitGoFields(status, fields);
    auto size = fields.empty() ? std::nullopt : ParseGoInt(fields[0], 10);
    if (!size) return MakeError("parse", "mdstat: no block count for " + md.name);
    md.blocks_total = *size;
    if (line.find("raid0") != std::string_view::npos ||
        line.find("linear") != std::string_view::npos) {
      // Only member disks carry a [n] on the device line.
      md.disks_total = md.disks_active = static_cast<int64_t>(Count(line, "["));
    } else if (line.find("inactive") == std::string_view::npos) {
      std::string_view total, active, flags;
      if (!MatchStatusLine(status, total, active, flags)) {
        return MakeError("parse", "mdstat: no [n/m] [U_] disk counts for " + md.name);
      }
      auto t = ParseGoInt(total, 10);
      auto a = ParseGoInt(active, 10);
      if (!t || !a) return MakeError("parse", "mdstat: disk count out of range for " + md.name);
      md.disks_total = *t;
      md.disks_active = *a;
    }

    size_t sync = i + 2;
    if (lines[i + 2].find("bitmap") != std::string_view::npos) ++sync;
    const std::string_view sl = lines[sync];
    md.blocks_synced = md.blocks_total;
    const bool recovering = sl.find("recovery") != std::string_view::npos;
    const bool resyncing = sl.find("resync") != std::string_view::npos;
    const bool checking = sl.find("check") != std::string_view::npos;
    if (recovering || resyncing || checking) {
      md.activity_state = recovering ? "recovering" : checking ? "checking" : "resyncing";
      if (sl.find("PENDING") != std::string_view::npos ||
          sl.find("DELAYED") != std::string_view::npos) {
        md.blocks_synced = 0;
      } else {
        auto synced = EvalRecoveryLine(sl);
        if (!synced.ok()) return synced.error();
        md.blocks_synced = *synced;
      }
    }
    out.push_back(std::move(md));
  }
  return out;
}

namespace {

class MdadmCollector final : public Collector {
 public:
  explicit MdadmCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "mdadm"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = file_.Read(max_);
    if (!text.ok()) {
      if (IsMissing(text.error(), file_.path())) {
        return Ok{};  // no md driver: nothing to report
      }
      return text.error();
    }
    auto mds = ParseMdstat(*text);
    if (!mds.ok()) return mds.error();
    if (mds->empty()) return Ok{};
    // Families in node_exporter's order; every array gets every series.
    MetricFamily required{
        "node_md_disks_required", "Total number of disks of device.", MetricType::kGauge, "", {}};
    MetricFamily disks{"node_md_disks",
                       "Number of active/failed/spare disks of device.",
                       MetricType::kGauge,
                       "",
                       {}};
    MetricFamily state{
        "node_md_state", "Indicates the state of md-device.", MetricType::kGauge, "", {}};
    MetricFamily blocks{
        "node_md_blocks", "Total number of blocks on device.", MetricType::kGauge, "", {}};
    MetricFamily synced{
        "node_md_blocks_synced", "Number of blocks synced on device.", MetricType::kGauge, "", {}};
    std::vector<std::string_view> seen;
    for (const MdStat& md : *mds) {
      // A name twice: node_exporter's registry keeps the first array's series.
      if (std::find(seen.begin(), seen.end(), md.name) != seen.end()) continue;
      seen.push_back(md.name);
      AddSample(required, static_cast<double>(md.disks_total), {{"device", md.name}});
      AddSample(disks, static_cast<double>(md.disks_active),
                {{"device", md.name}, {"state", "active"}});
      AddSample(disks, static_cast<double>(md.disks_failed),
                {{"device", md.name}, {"state", "failed"}});
      AddSample(disks, static_cast<double>(md.disks_spare),
                {{"device", md.name}, {"state", "spare"}});
      // The state label's values and the activity each one stands for.
      static constexpr std::pair<const char*, const char*> kStates[] = {
          {"active", "active"},
          {"inactive", "inactive"},
          {"recovering", "recovering"},
          {"resync", "resyncing"},
          {"check", "checking"}};
      for (const auto& [label, activity] : kStates) {
        AddSample(state, md.activity_state == activity ? 1 : 0,
                  {{"device", md.name}, {"state", label}});
      }
      AddSample(blocks, static_cast<double>(md.blocks_total), {{"device", md.name}});
      AddSample(synced, static_cast<double>(md.blocks_synced), {{"device", md.name}});
    }
    out.push_back(std::move(required));
    out.push_back(std::move(disks));
    out.push_back(std::move(state));
    out.push_back(std::move(blocks));
    out.push_back(std::move(synced));
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  CachedFile file_{paths_.Proc("mdstat")};
};

}  // namespace

std::unique_ptr<Collector> NewMdadmCollector(const NodeOptions& cfg) {
  return std::make_unique<MdadmCollector>(cfg);
}

}  // namespace lookout
