#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/collector.h"
#include "lookout/result.h"

namespace lookout {

// The totals of /proc/net/ip_vs_stats (net/netfilter/ipvs/ip_vs_ctl.c, ip_vs_stats_show).
struct IpvsStats {
  uint64_t connections = 0;
  uint64_t incoming_packets = 0;
  uint64_t outgoing_packets = 0;
  uint64_t incoming_bytes = 0;  // bytes
  uint64_t outgoing_bytes = 0;  // bytes
};

// /proc/net/ip_vs_stats as procfs 0.8's parseIPVSStats reads it: the text split at its first
// three "\n" (so it needs at least three), the third line's fields exactly five, each Go's
// strconv.ParseUint(s, 16, 64) (hex digits only, no 0x). Errors ("parse"): fewer than three
// newlines, another number of fields, a value that does not parse.
Result<IpvsStats> ParseIpvsStats(std::string_view text);

// One real server ("->" line) of /proc/net/ip_vs with the virtual service above it, as procfs
// 0.8's IPVSBackendStatus holds it, addresses already as node_exporter prints them.
struct IpvsBackend {
  std::string local_address;  // Go's net.IP.String(): "10.0.0.1", "2001:db8::1"; "" for FWM
  uint16_t local_port = 0;    // 0 for FWM
  std::string local_mark;     // FWM: the mark as the kernel printed it ("00000064"), else ""
  std::string proto;          // "TCP", "UDP", "FWM" ("" before any service line)
  std::string remote_address;
  uint16_t remote_port = 0;
  uint64_t weight = 0;
  uint64_t active_conn = 0;
  uint64_t inact_conn = 0;
};

struct IpvsBackends {
  std::vector<IpvsBackend> backends;
  SkippedEntries skipped;  // lines left out (see ParseIpvsBackends)
};

// /proc/net/ip_vs as procfs 0.8's parseIPVSBackendStatus reads it, line by line (Go's
// strings.Fields): "IP ..." / "Prot ..." / "<x> RemoteAddress:Port ..." headers are skipped;
// "TCP"/"UDP" <addr:port> starts a service; "FWM" <mark> a fwmark service (no address, port 0);
// "->" <addr:port> <fwd> <weight> <active> <inactive> is a real server of the last service
// (weight and counts ParseUint base 10). An address is 13 bytes "XXXXXXXX?PPPP" (hex IPv4, any
// separator, hex port) or 46 "[<39-byte IPv6 as Go's net.ParseIP reads it>]?PPPP". Left alone,
// as procfs leaves them: empty lines, "->" lines of fewer than 6 fields, lines of any other first
// word (an SCTP service, whose real servers then count under the service before it), a line
// past 64 KiB and all after it (procfs does not check the scanner's error).
//
// Where procfs fails the whole file (or node_exporter panics: a line of one field other than
// "IP"/"Prot"), the bad line is left out here and counted in `skipped` ("parse"): a service line
// whose address does not parse also leaves out its real servers (up to the next service line),
// a "->" line whose address or numbers do not parse only itself.
IpvsBackends ParseIpvsBackends(std::string_view text);

// node_exporter 1.5's backend label names, in its order (the default of
// --collector.ipvs.backend-labels).
inline constexpr std::array<std::string_view, 6> kIpvsBackendLabels = {
    "local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark"};

// node_exporter's parseIpvsLabels: the chosen labels in kIpvsBackendLabels order, each once,
// empty names ignored. Error ("config") naming the unknown ones, sorted, as node_exporter's
// `unknown IPVS backend labels: "a, b"` (which stops node_exporter at start-up).
Result<std::vector<std::string>> CanonicalIpvsBackendLabels(const std::vector<std::string>& in);

}  // namespace lookout
