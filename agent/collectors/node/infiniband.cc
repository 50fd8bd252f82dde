// infiniband: InfiniBand host channel adapters from /sys/class/infiniband (node_exporter 1.5,
// procfs 0.8): node_infiniband_info{board_id,device,firmware_version,hca_type} = 1 per device;
// per port, node_infiniband_state_id, node_infiniband_physical_state_id and
// node_infiniband_rate_bytes_per_second (gauges) and one counter per file of
// ports/<n>/counters (22 known names) and, on kernels before 4.5, ports/<n>/counters_ext
// (node_infiniband_legacy_*), all by {device,port}. Data counters count 4-octet words and are
// multiplied by 4, as procfs does (a 32-bit port_xmit_data saturated at 2^32-1 shows
// 17179869180).
//
// Which series exist: every entry of the class (sorted) that has board_id and fw_ver (hca_type
// may be absent: ""), every port directory named by a decimal number (the port label is that
// number, so "01" is port 1 and the later of two names for one number wins, as procfs's map),
// and every known counter file that is a regular file and holds a value: one the driver refuses
// (EACCES, EPERM, EOPNOTSUPP, EINVAL) or that reads "N/A (no PMA)" is left out, as in procfs.
// hw_counters are not read (procfs 0.8 does not).
//
// Where lookout differs, each time because node_exporter 1.5 fails the whole collector (a
// missing file there reports "no data", also node_scrape_collector_success 0): a device whose
// board_id, fw_ver, hca_type or ports cannot be read, a port whose state, phys_state or rate
// cannot be read or parsed, or whose counters or counters_ext cannot be listed, is left out
// with a partial error and the rest kept; a counter that cannot be read or parsed is left out
// alone. A port with no counters directory at all (Intel irdma) keeps its state and rate
// without counters and without an error, as later procfs versions do. Names and values that
// are not UTF-8 get U+FFFD (node_exporter panics and the process dies). No infiniband class:
// no series, no failure (node_exporter: success 0).
#include "agent/collectors/node/infiniband.h"

#include <dirent.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/go_float.h"
#include "agent/common/kept_files.h"
#include "agent/common/utf8.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

namespace {

struct CounterRow {
  bool ext;  // in counters_ext (the pre-4.5 64-bit counters), not counters
  std::string_view file;
  InfinibandCounter counter;
};

// procfs 0.8's switch statements and node_exporter 1.5's names and descriptions.
constexpr std::array<CounterRow, 30> kCounters = {{
    {false,
     "VL15_dropped",
     {"vl15_dropped_total", "Number of incoming VL15 packets dropped due to resource limitations.",
      false}},
    {false,
     "excessive_buffer_overrun_errors",
     {"excessive_buffer_overrun_errors_total",
      "Number of times that OverrunErrors consecutive flow control update periods occurred, "
      "each having at least one overrun error.",
      false}},
    {false,
     "link_downed",
     {"link_downed_total",
      "Number of times the link failed to recover from an error state and went down", false}},
    {false,
     "link_error_recovery",
     {"link_error_recovery_total",
      "Number of times the link successfully recovered from an error state", false}},
    {false,
     "local_link_integrity_errors",
     {"local_link_integrity_errors_total",
      "Number of times that the count of local physical errors exceeded the threshold specified "
      "by LocalPhyErrors.",
      false}},
    {false,
     "multicast_rcv_packets",
     {"multicast_packets_received_total", "Number of multicast packets received (including errors)",
      false}},
    {false,
     "multicast_xmit_packets",
     {"multicast_packets_transmitted_total",
      "Number of multicast packets transmitted (including errors)", false}},
    {false,
     "port_rcv_constraint_errors",
     {"port_constraint_errors_received_total",
      "Number of packets received on the switch physical port that are discarded", false}},
    {false,
     "port_rcv_data",
     {"port_data_received_bytes_total", "Number of data octets received on all links", true}},
    {false,
     "port_rcv_discards",
     {"port_discards_received_total",
      "Number of inbound packets discarded by the port because the port is down or congested",
      false}},
    {false,
     "port_rcv_errors",
     {"port_errors_received_total",
      "Number of packets containing an error that were received on this port", false}},
    {false,
     "port_rcv_packets",
     {"port_packets_received_total",
      "Number of packets received on all VLs by this port (including errors)", false}},
    {false,
     "port_rcv_remote_physical_errors",
     {"port_receive_remote_physical_errors_total",
      "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.",
      false}},
    {false,
     "port_rcv_switch_relay_errors",
     {"port_receive_switch_relay_errors_total",
      "Number of packets that could not be forwarded by the switch.", false}},
    {false,
     "port_xmit_constraint_errors",
     {"port_constraint_errors_transmitted_total",
      "Number of packets not transmitted from the switch physical port", false}},
    {false,
     "port_xmit_data",
     {"port_data_transmitted_bytes_total", "Number of data octets transmitted on all links", true}},
    {false,
     "port_xmit_discards",
     {"port_discards_transmitted_total",
      "Number of outbound packets discarded by the port because the port is down or congested",
      false}},
    {false,
     "port_xmit_packets",
     {"port_packets_transmitted_total",
      "Number of packets transmitted on all VLs from this port (including errors)", false}},
    {false,
     "port_xmit_wait",
     {"port_transmit_wait_total",
      "Number of ticks during which the port had data to transmit but no data was sent during "
      "the entire tick",
      false}},
    {false,
     "symbol_error",
     {"symbol_error_total", "Number of minor link errors detected on one or more physical lanes.",
      false}},
    {false,
     "unicast_rcv_packets",
     {"unicast_packets_received_total", "Number of unicast packets received (including errors)",
      false}},
    {false,
     "unicast_xmit_packets",
     {"unicast_packets_transmitted_total",
      "Number of unicast packets transmitted (including errors)", false}},
    {true,
     "port_multicast_rcv_packets",
     {"legacy_multicast_packets_received_total", "Number of multicast packets received", false}},
    {true,
     "port_multicast_xmit_packets",
     {"legacy_multicast_packets_transmitted_total", "Number of multicast packets transmitted",
      false}},
    {true,
     "port_rcv_data_64",
     {"legacy_data_received_bytes_total", "Number of data octets received on all links", true}},
    {true,
     "port_rcv_packets_64",
     {"legacy_packets_received_total", "Number of data packets received on all links", false}},
    {true,
     "port_unicast_rcv_packets",
     {"legacy_unicast_packets_received_total", "Number of unicast packets received", false}},
    {true,
     "port_unicast_xmit_packets",
     {"legacy_unicast_packets_transmitted_total", "Number of unicast packets transmitted", false}},
    {true,
     "port_xmit_data_64",
     {"legacy_data_transmitted_bytes_total", "Number of data octets transmitted on all links",
      true}},
    // node_exporter 1.5's description says "received" for this transmit counter.
    {true,
     "port_xmit_packets_64",
     {"legacy_packets_transmitted_total", "Number of data packets received on all links", false}},
}};

std::optional<size_t> CounterIndex(bool counters_ext, std::string_view file) {
  for (size_t i = 0; i < kCounters.size(); ++i) {
    if (kCounters[i].ext == counters_ext && kCounters[i].file == file) return i;
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint32_t> ParseInfinibandState(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
    return std::nullopt;  // strings.Split(s, ":") must give exactly two parts
  }
  const auto id = ParseGoUint(TrimGoSpace(text.substr(0, colon)), 10);
  if (!id || *id > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*id);
}

std::optional<uint64_t> ParseInfinibandRate(std::string_view text) {
  const size_t space = text.find(' ');  // strings.SplitAfterN(s, " ", 2) must give two parts
  if (space == std::string_view::npos) return std::nullopt;
  const auto gbps = ParseGoFloat(TrimGoSpace(text.substr(0, space)));
  if (!gbps) return std::nullopt;
  // ParseFloat(s, 32): rounded to float32 (here via float64: the two roundings differ only for
  // decimals within a hair of a float32 rounding boundary, which no kernel prints); beyond the
  // float32 range is Go's ErrRange.
  const auto f32 = static_cast<float>(*gbps);
  if (std::isinf(f32) && !std::isinf(*gbps)) return std::nullopt;
  return GoFloat64ToUint64(static_cast<double>(f32) * 125000000);
}

const InfinibandCounter* InfinibandCounterFor(bool counters_ext, std::string_view file) {
  const auto i = CounterIndex(counters_ext, file);
  return i ? &kCounters[*i].counter : nullptr;
}

Result<std::optional<uint64_t>> ParseInfinibandCounter(const SysfsValue& file, bool times4) {
  using Value = std::optional<uint64_t>;
  if (file.err != 0) {
    // procfs: os.IsNotExist, os.IsPermission, "operation not supported", "invalid argument".
    if (file.err == ENOENT || file.err == EACCES || file.err == EPERM || file.err == EOPNOTSUPP ||
        file.err == EINVAL) {
      return Value{};
    }
    return MakeError("read", std::strerror(file.err));
  }
  const auto v = ParseGoUint(file.text, 0);
  if (!v) {
    if (file.text.find("N/A (no PMA)") != std::string::npos) return Value{};
    // Built by appending: "\"" + string trips GCC 12's -Wrestrict false positive at -O3.
    std::string detail(1, '"');
    detail += ToValidUtf8(file.text);
    detail += "\" is not an unsigned integer";
    return MakeError("parse", std::move(detail));
  }
  return Value{times4 ? *v * 4 : *v};  // Go's uint64 multiplication wraps, so does this
}

namespace {

struct Port {
  uint32_t state = 0, phys_state = 0;
  uint64_t rate = 0;
  std::array<std::optional<uint64_t>, kCounters.size()> counters;
};

// The names of the regular files in `dir` (Go's os.ReadDir with Type().IsRegular(): symbolic
// links and directories are not), or nullopt with `err` set when it cannot be listed.
std::optional<std::vector<std::string>> RegularFileNames(const std::string& dir, int& err) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    err = errno;
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (const dirent* e = readdir(d)) {
    bool regular = e->d_type == DT_REG;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st {};
      regular = lstat((dir + "/" + e->d_name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    }
    if (regular) names.emplace_back(e->d_name);
  }
  closedir(d);
  return names;
}

class InfinibandCollector final : public Collector {
 public:
  explicit InfinibandCollector(const NodeOptions& cfg)
      : dir_(cfg.paths.Sys("class/infiniband")), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "infiniband"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    const auto scrape = kept_.Begin();  // first: a run that ends early still closes what it left
    const auto devices = ReadDirNames(dir_);
    if (!devices) return Ok{};  // no infiniband class: no series, no failure
    MetricFamily info{"node_infiniband_info",
                      "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
                      MetricType::kGauge,
                      {},
                      {}};
    MetricFamily state{"node_infiniband_state_id",
                       "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, "
                       "4: active, 5: act defer)",
                       MetricType::kGauge,
                       {},
                       {}};
    MetricFamily phys{"node_infiniband_physical_state_id",
                      "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: "
                      "polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: "
                      "phytest)",
                      MetricType::kGauge,
                      {},
                      {}};
    MetricFamily rate{"node_infiniband_rate_bytes_per_second",
                      "Maximum signal transfer rate",
                      MetricType::kGauge,
                      {},
                      {}};
    std::vector<MetricFamily> counters;
    counters.reserve(kCounters.size());
    for (const CounterRow& r : kCounters) {
      counters.push_back({"node_infiniband_" + std::string(r.counter.metric),
                          std::string(r.counter.help),
                          MetricType::kCounter,
                          {},
                          {}});
    }
    SkippedEntries skipped;
    for (const std::string& name : *devices) {
      const std::string d = dir_ + "/" + name + "/";
      // procfs reads board_id, fw_ver and hca_type in this order; only hca_type may be absent.
      const SysfsValue board = kept_.SysReadFile(d + "board_id");
      const SysfsValue fw = board.err == 0 ? kept_.SysReadFile(d + "fw_ver") : SysfsValue{};
      const SysfsValue hca = fw.err == 0 ? kept_.SysReadFile(d + "hca_type") : SysfsValue{};
      if (board.err != 0 || fw.err != 0 || (hca.err != 0 && hca.err != ENOENT)) {
        const bool b = board.err != 0, f = fw.err != 0;
        skipped.Add(SysfsError(d + (b   ? "board_id"
                                    : f ? "fw_ver"
                                        : "hca_type"),
                               b   ? board
                               : f ? fw
                                   : hca));
        continue;
      }
      const auto port_names = ReadDirNames(d + "ports");
      if (!port_names) {
        skipped.Add(MakeError("open", d + "ports: cannot be listed"));
        continue;
      }
      const std::string device = ToValidUtf8(name);
      AddSample(info, 1.0,
                {{"board_id", ToValidUtf8(board.text)},
                 {"device", device},
                 {"firmware_version", ToValidUtf8(fw.text)},
                 {"hca_type", ToValidUtf8(hca.text)}});
      std::map<uint32_t, Port> ports;  // by number: the later of "01" and "1" wins, as in procfs
      for (const std::string& p : *port_names) {
        const auto number = ParseGoUint(p, 10);
        if (!number || *number > UINT32_MAX) {
          skipped.Add(MakeError("parse", d + "ports/" + p + ": not a port number"));
          continue;
        }
        if (auto port = ReadPort(d + "ports/" + p + "/", skipped)) {
          ports[static_cast<uint32_t>(*number)] = *port;
        }
      }
      for (const auto& [number, port] : ports) {
        const Labels labels = {{"device", device}, {"port", std::to_string(number)}};
        AddSample(state, port.state, labels);
        AddSample(phys, port.phys_state, labels);
        AddSample(rate, static_cast<double>(port.rate), labels);
        for (size_t i = 0; i < kCounters.size(); ++i) {
          if (port.counters[i]) {
            AddSample(counters[i], static_cast<double>(*port.counters[i]), labels);
          }
        }
      }
    }
    for (MetricFamily* f : {&info, &state, &phys, &rate}) {
      if (!f->samples.empty()) out.push_back(std::move(*f));
    }
    for (MetricFamily& f : counters) {
      if (!f.samples.empty()) out.push_back(std::move(f));
    }
    return skipped.ToStatus();
  }

 private:
  // One ports/<n>/ directory (with its trailing '/'); nullopt, with the reason added to
  // `skipped`, when procfs would fail on it. A counter that fails is left out alone.
  std::optional<Port> ReadPort(const std::string& p, SkippedEntries& skipped) const {
    Port port;
    // state, phys_state and rate: os.ReadFile, the whole file untrimmed, parsed in this order.
    const auto parse = [&](const char* file, auto parser, auto& field, const char* shape) {
      const std::string path = p + file;
      const auto text = kept_.ReadFileLimited(path, max_);
      if (!text.ok()) {
        skipped.Add(text.error());
        return false;
      }
      const auto v = parser(*text);
      if (!v) {
        skipped.Add(MakeError("parse", path + ": not \"" + shape + "\""));
        return false;
      }
      field = *v;
      return true;
    };
    if (!parse("state", ParseInfinibandState, port.state, "<id>: <name>") ||
        !parse("phys_state", ParseInfinibandState, port.phys_state, "<id>: <name>") ||
        !parse("rate", ParseInfinibandRate, port.rate, "<number> Gb/sec ...")) {
      return std::nullopt;
    }
    for (const bool ext : {false, true}) {
      const std::string dir = p + (ext ? "counters_ext" : "counters");
      int err = 0;
      const auto files = RegularFileNames(dir, err);
      if (!files) {
        if (err == ENOENT) continue;  // counters_ext: before Linux 4.5 only; counters: irdma
        skipped.Add(MakeError("open", dir + ": " + std::strerror(err)));
        return std::nullopt;
      }
      for (const std::string& f : *files) {
        const auto i = CounterIndex(ext, f);
        if (!i) continue;
        const std::string path = dir + "/" + f;
        auto v = ParseInfinibandCounter(kept_.SysReadFile(path), kCounters[*i].counter.times4);
        if (!v.ok()) {
          skipped.Add(MakeError(v.error().reason, path + ": " + v.error().detail));
          continue;
        }
        port.counters[*i] = *v;
      }
    }
    return port;
  }

  const std::string dir_;
  const size_t max_;
  mutable KeptFiles kept_;  // read within Collect's Scrape
};

}  // namespace

std::unique_ptr<Collector> NewInfinibandCollector(const NodeOptions& cfg) {
  return std::make_unique<InfinibandCollector>(cfg);
}

}  // namespace lookout
