// netstat: node_netstat_<Proto>_<Field> for the configured subset of /proc/net/netstat,
// /proc/net/snmp and /proc/net/snmp6 (node_exporter's default field pattern).
#include "agent/collectors/node/netstat.h"

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

Result<NetstatValues> ParseNetstatPairs(std::string_view text, const Pattern* keep) {
  std::vector<std::string_view> lines;
  ForEachLine(text, [&](std::string_view l) {
    if (!TrimSpace(l).empty()) lines.push_back(l);
  });
  if (lines.size() % 2 != 0) return MakeError("parse", "netstat: header without values");
  NetstatValues out;
  std::vector<std::string_view> names, values;
  std::string key;  // reused: no allocation per field
  for (size_t i = 0; i < lines.size(); i += 2) {
    SplitFields(lines[i], names);
    SplitFields(lines[i + 1], values);
    if (names.empty() || values.size() != names.size() || names[0] != values[0] ||
        !names[0].ends_with(':')) {
      return MakeError("parse", "netstat: names and values do not line up");
    }
    const std::string_view proto = names[0].substr(0, names[0].size() - 1);
    for (size_t j = 1; j < names.size(); ++j) {
      auto v = ParseI64(values[j]);  // some fields are signed (Tcp MaxConn is -1)
      if (!v) return MakeError("parse", "netstat: bad number");
      key.assign(proto);
      key += '_';
      key.append(names[j]);
      if (keep != nullptr && !keep->Matches(key)) continue;
      out.emplace_back(key, static_cast<double>(*v));
    }
  }
  return out;
}

Result<NetstatValues> ParseSnmp6(std::string_view text, const Pattern* keep) {
  NetstatValues out;
  std::string key;
  std::vector<std::string_view> f;
  bool bad = false;
  ForEachLine(text, [&](std::string_view line) {
    if (bad || TrimSpace(line).empty()) return;
    SplitFields(line, f);
    if (f.size() != 2) {
      bad = true;
      return;
    }
    const size_t six = f[0].find('6');
    if (six == std::string_view::npos) return;  // node_exporter skips such lines too
    auto v = ParseI64(f[1]);
    if (!v) {
      bad = true;
      return;
    }
    key.assign(f[0].substr(0, six + 1));
    key += '_';
    key.append(f[0].substr(six + 1));
    if (keep != nullptr && !keep->Matches(key)) return;
    out.emplace_back(key, static_cast<double>(*v));
  });
  if (bad) return MakeError("parse", "snmp6: malformed line");
  return out;
}

namespace {

class NetstatCollector final : public Collector {
 public:
  explicit NetstatCollector(const NodeOptions& cfg)
      : paths_(cfg.paths), max_(cfg.max_file_bytes), fields_(cfg.netstat_fields) {}
  std::string_view Name() const override { return "netstat"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    NetstatValues all;
    for (CachedFile* file : {&netstat_, &snmp_}) {
      auto text = file->Read(max_);
      if (!text.ok()) return text.error();
      auto v = ParseNetstatPairs(*text, &fields_);
      if (!v.ok()) return v.error();
      all.insert(all.end(), v->begin(), v->end());
    }
    if (auto text = snmp6_.Read(max_); text.ok()) {  // IPv6 may be off
      auto v = ParseSnmp6(*text, &fields_);
      if (!v.ok()) return v.error();
      all.insert(all.end(), v->begin(), v->end());
    }
    for (const auto& [key, v] : all) {
      std::string name = "node_netstat_" + key;
      if (!IsValidMetricName(name)) continue;
      std::string stat = key;
      stat.erase(std::find(stat.begin(), stat.end(), '_'));
      AddSample(AddFamily(out, std::move(name), "Statistic " + stat + ".", MetricType::kUntyped),
                v);
    }
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
  Pattern fields_;
  CachedFile netstat_{paths_.Proc("net/netstat")};
  CachedFile snmp_{paths_.Proc("net/snmp")};
  CachedFile snmp6_{paths_.Proc("net/snmp6")};
};

}  // namespace

std::unique_ptr<Collector> NewNetstatCollector(const NodeOptions& cfg) {
  return std::make_unique<NetstatCollector>(cfg);
}

std::vector<Option<NodeOptions>> NetstatOptionRows() {
  return {option::Regex<NodeOptions>(
      "fields", &NodeOptions::netstat_fields,
      "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|"
      "OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|"
      "OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|"
      "NoPorts|RcvbufErrors|SndbufErrors))$",
      "`<Proto>_<Field>` names from /proc/net/{netstat,snmp,snmp6} to report (node_exporter's "
      "default)")};
}

}  // namespace lookout
