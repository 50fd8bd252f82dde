// conntrack: node_nf_conntrack_entries{,_limit} from /proc/sys/net/netfilter and the
// node_nf_conntrack_stat_* totals from /proc/net/stat/nf_conntrack.
//
// Without the conntrack module (files absent) node_exporter emits what it could read before the
// first missing file and reports success 0; lookout emits the same series and reports success 1
// (README, "Deliberate differences").
#include "agent/collectors/node/conntrack.h"

#include <charconv>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<ConntrackStats> ParseConntrackStat(std::string_view text) {
  ConntrackStats t;
  std::vector<std::string_view> f;
  bool header = true;
  // A line over 64 KiB ends the scan quietly (procfs ignores the scanner's error).
  GoLineScanner lines(text);
  for (std::string_view line; lines.Next(line);) {
    if (header) {
      header = false;
      continue;
    }
    SplitFields(line, f);
    if (f.size() != 17) {
      return MakeError("parse", "nf_conntrack stat line with " + std::to_string(f.size()) +
                                    " fields, expected 17");
    }
    uint64_t v[17] = {};
    for (size_t i = 0; i < 17; ++i) {
      if (i == 0 || i == 2 || i == 4 || i == 5 || (i >= 8 && i <= 11) || i == 16) {
        uint64_t x = 0;
        const auto r = std::from_chars(f[i].data(), f[i].data() + f[i].size(), x, 16);
        if (r.ec != std::errc() || r.ptr != f[i].data() + f[i].size()) {
          return MakeError("parse", "bad hex field in nf_conntrack stats");
        }
        v[i] = x;
      }
    }
    // Sums wrap like procfs's uint64 additions.
    t.found += v[2];
    t.invalid += v[4];
    t.ignore += v[5];
    t.insert += v[8];
    t.insert_failed += v[9];
    t.drop += v[10];
    t.early_drop += v[11];
    t.search_restart += v[16];
  }
  return t;
}

Result<uint64_t> ParseConntrackValue(std::string_view text) {
  auto v = ParseU64(TrimGoSpace(text));
  if (!v) return MakeError("parse", "not an unsigned decimal number");
  return *v;
}

namespace {

class ConntrackCollector final : public Collector {
 public:
  explicit ConntrackCollector(const NodeOptions& cfg)
      : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "conntrack"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    bool absent = false;
    auto count = ReadValue(count_, absent);
    if (absent) return Ok{};  // no conntrack here: nothing, as node_exporter
    if (!count.ok()) return count.error();
    AddSample(AddFamily(out, "node_nf_conntrack_entries",
                        "Number of currently allocated flow entries for connection tracking.",
                        MetricType::kGauge),
              static_cast<double>(*count));
    auto limit = ReadValue(max_file_, absent);
    if (absent) return Ok{};
    if (!limit.ok()) return limit.error();
    AddSample(AddFamily(out, "node_nf_conntrack_entries_limit",
                        "Maximum size of connection tracking table.", MetricType::kGauge),
              static_cast<double>(*limit));

    auto text = stat_.Read(max_);
    if (!text.ok()) {
      // A kernel without CONFIG_NF_CONNTRACK_PROCFS has the sysctls but not this file.
      if (IsMissing(text.error(), stat_.path())) return Ok{};
      return text.error();
    }
    auto s = ParseConntrackStat(*text);
    if (!s.ok()) return s.error();
    struct Stat {
      const char* name;
      const char* help;
      uint64_t value;
    };
    const Stat stats[] = {
        {"found", "Number of searched entries which were successful.", s->found},
        {"invalid", "Number of packets seen which can not be tracked.", s->invalid},
        {"ignore", "Number of packets seen which are already connected to a conntrack entry.",
         s->ignore},
        {"insert", "Number of entries inserted into the list.", s->insert},
        {"insert_failed", "Number of entries for which list insertion was attempted but failed.",
         s->insert_failed},
        {"drop", "Number of packets dropped due to conntrack failure.", s->drop},
        {"early_drop",
         "Number of dropped conntrack entries to make room for new ones, if maximum table size "
         "was reached.",
         s->early_drop},
        {"search_restart",
         "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
         s->search_restart},
    };
    for (const auto& st : stats) {
      // Gauges, as node_exporter 1.5 types them (they are counters in the kernel).
      AddSample(AddFamily(out, std::string("node_nf_conntrack_stat_") + st.name, st.help,
                          MetricType::kGauge),
                static_cast<double>(st.value));
    }
    return Ok{};
  }

 private:
  Result<uint64_t> ReadValue(CachedFile& f, bool& absent) {
    auto text = f.Read(max_);
    if (!text.ok()) {
      absent = IsMissing(text.error(), f.path());
      return text.error();
    }
    return ParseConntrackValue(*text);
  }

  HostPaths paths_;
  size_t max_;
  CachedFile count_{paths_.Proc("sys/net/netfilter/nf_conntrack_count")};
  CachedFile max_file_{paths_.Proc("sys/net/netfilter/nf_conntrack_max")};
  CachedFile stat_{paths_.Proc("net/stat/nf_conntrack")};
};

}  // namespace

std::unique_ptr<Collector> NewConntrackCollector(const NodeOptions& cfg) {
  return std::make_unique<ConntrackCollector>(cfg);
}

}  // namespace lookout
