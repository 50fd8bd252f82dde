#include "agent/collectors/node/ipvs.h"

#include <filesystem>
#include <string>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

// A scratch copy of the node_big procfs tree to break files in, and node options pointed at it.
using testing::CopiedProcfs;

using testing::SeriesWithPrefix;

constexpr char kHeaders[] =
    "IP Virtual Server version 1.2.1 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n";

TEST(ParseIpvsStats, ThirdLineHex) {
  auto s = ParseIpvsStats(testing::ReadFixture("node_big/proc/net/ip_vs_stats"));
  ASSERT_TRUE(s.ok()) << s.error().detail;
  EXPECT_EQ(s->connections, 0x23C3E1u);
  EXPECT_EQ(s->incoming_packets, 0x1E8A6F4Bu);
  EXPECT_EQ(s->outgoing_bytes, 0x6E0A3B1D44u);
  EXPECT_EQ(ParseIpvsStats("a\nb\nFFFFFFFFFFFFFFFF 0 0 0 0\n")->connections, UINT64_MAX);
  EXPECT_FALSE(ParseIpvsStats("a\nb\n1 2 3 4 5").ok());  // two newlines: "too short"
  EXPECT_FALSE(ParseIpvsStats("").ok());
  EXPECT_FALSE(ParseIpvsStats("a\nb\n1 2 3 4 5 6\n").ok());   // six fields
  EXPECT_FALSE(ParseIpvsStats("a\nb\n0x10 2 3 4 5\n").ok());  // no prefix in base 16
  EXPECT_FALSE(ParseIpvsStats("a\nb\n1FFFFFFFFFFFFFFFF 2 3 4 5\n").ok());
}

TEST(ParseIpvsBackends, FixtureServices) {
  auto p = ParseIpvsBackends(testing::ReadFixture("node_big/proc/net/ip_vs"));
  EXPECT_TRUE(p.skipped.ToStatus().ok());
  ASSERT_EQ(p.backends.size(), 13u);
  const IpvsBackend& first = p.backends[0];
  EXPECT_EQ(first.proto, "TCP");
  EXPECT_EQ(first.local_address, "10.0.0.10");
  EXPECT_EQ(first.local_port, 80);
  EXPECT_EQ(first.remote_address, "10.0.1.1");
  EXPECT_EQ(first.remote_port, 8080);
  EXPECT_EQ(first.weight, 100u);
  EXPECT_EQ(first.active_conn, 214u);
  EXPECT_EQ(first.inact_conn, 1983u);
  const IpvsBackend& v6 = p.backends[10];  // the IPv6 service's third real server
  EXPECT_EQ(v6.local_address, "2001:db8::10");
  EXPECT_EQ(v6.remote_address, "fd00::20c:29ff:fe3a:6b1c");
  EXPECT_EQ(v6.remote_port, 8443);
  const IpvsBackend& fwm = p.backends[11];
  EXPECT_EQ(fwm.proto, "FWM");
  EXPECT_EQ(fwm.local_mark, "00000064");
  EXPECT_EQ(fwm.local_address, "");
  EXPECT_EQ(fwm.local_port, 0);
}

TEST(ParseIpvsBackends, ProcfsQuirksKept) {
  auto p = ParseIpvsBackends(std::string(kHeaders) +
                             "  -> 0A000909:0050      Masq    1      2          3\n"  // no service
                             "TCP  0a00000a:0050 wlc\n"                               // lower hex
                             "  -> 0A000102x1F90      Masq    1      2          3\n"  // any colon
                             "  -> 0A000103:1F90      Masq    1      2\n"  // short: ignored
                             "SCTP  0A000063:0B59 rr\n"  // not understood: previous service
                             "  -> 0A000901:0B59      Masq    1      5          6\n"
                             "TCP  [0000:0000:0000:0000:0000:ffff:0a00:0001]:0050 rr\n"
                             "  -> [0000:0000:0000:0000:0000:0000:0000:0001]:0050      Masq    "
                             "1      0          0\n");
  EXPECT_TRUE(p.skipped.ToStatus().ok());
  ASSERT_EQ(p.backends.size(), 4u);
  EXPECT_EQ(p.backends[0].proto, "");
  EXPECT_EQ(p.backends[0].local_address, "");
  EXPECT_EQ(p.backends[1].local_address, "10.0.0.10");
  EXPECT_EQ(p.backends[1].remote_address, "10.0.1.2");
  EXPECT_EQ(p.backends[2].remote_address, "10.0.9.1");
  EXPECT_EQ(p.backends[2].local_port, 80);             // counted under the TCP service above
  EXPECT_EQ(p.backends[3].local_address, "10.0.0.1");  // v4-mapped, as Go prints it
  EXPECT_EQ(p.backends[3].remote_address, "::1");
}

TEST(ParseIpvsBackends, BadLinesLeftOutOthersKept) {
  auto p = ParseIpvsBackends(std::string(kHeaders) +
                             "TCP  0A0000ZZ:0050 wlc\n"  // bad service: its servers left out
                             "  -> 0A000101:1F90      Masq    1      2          3\n"
                             "TCP  0A00000A:01BB wlc\n"
                             "  -> 0A000101:20FB      Masq    -1     2          3\n"  // bad weight
                             "  -> 0A0001:20FB      Masq    1     2          3\n"     // bad address
                             "  -> [2001:db8::1:1]:20FB      Masq    1     2          3\n"
                             "TCP\n"  // node_exporter panics on a one-field line
                             "  -> 0A000102:20FB      Masq    1      4          5\n"
                             "UDP  0A000035:0035 rr\n"
                             "  -> 0A000201:0035      Route   1      0          4021\n");
  auto st = p.skipped.ToStatus();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  ASSERT_EQ(p.backends.size(), 1u);
  EXPECT_EQ(p.backends[0].proto, "UDP");
  EXPECT_EQ(p.backends[0].inact_conn, 4021u);
}

TEST(CanonicalIpvsBackendLabels, NodeExporterOrderAndUnknownNames) {
  auto l = CanonicalIpvsBackendLabels({"proto", "", "local_address", "proto"});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"local_address", "proto"}));
  EXPECT_TRUE(CanonicalIpvsBackendLabels({})->empty());
  auto bad = CanonicalIpvsBackendLabels({"local_address", "zz", "bogus"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().detail, "unknown IPVS backend labels: \"bogus, zz\"");
}

TEST(IpvsCollector, FixtureTree) {
  CopiedProcfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewIpvsCollector(t.cfg)->Collect(out).ok());
  // node_exporter 1.5 on the same tree: 44 node_ipvs_* series.
  EXPECT_EQ(SeriesWithPrefix(out, "node_ipvs_"), 44u);
  const MetricFamily* conns = testing::FindFamily(out, "node_ipvs_connections_total");
  ASSERT_NE(conns, nullptr);
  EXPECT_EQ(conns->type, MetricType::kCounter);
  EXPECT_EQ(conns->help, "The total number of connections made.");
  EXPECT_EQ(conns->samples[0].value, 2343905);
  const MetricFamily* active = testing::FindFamily(out, "node_ipvs_backend_connections_active");
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(active->type, MetricType::kGauge);
  ASSERT_EQ(active->samples.size(), 13u);
  EXPECT_EQ(active->samples[0].labels.size(), 6u);
  EXPECT_EQ(testing::LabelValue(active->samples[0], "remote_address"), "10.0.1.1");
  EXPECT_EQ(active->samples[0].value, 214);
}

TEST(IpvsCollector, FewerLabelsSumTheRealServers) {
  CopiedProcfs t;
  t.cfg.ipvs_backend_labels = {"local_address", "proto"};
  testing::Collected r;
  auto c = NewIpvsCollector(t.cfg);
  r = testing::Run(*c);
  ASSERT_TRUE(r.status.ok());
  // As node_exporter with --collector.ipvs.backend-labels=proto,local_address: 17 series.
  EXPECT_EQ(SeriesWithPrefix(r.families, "node_ipvs_"), 17u);
  EXPECT_EQ(r.Value("node_ipvs_backend_connections_active",
                    {{"local_address", "10.0.0.10"}, {"proto", "TCP"}}),
            2450);
  EXPECT_EQ(r.Value("node_ipvs_backend_weight", {{"local_address", ""}, {"proto", "FWM"}}), 2);

  t.cfg.ipvs_backend_labels.clear();  // one series per family: every real server summed
  c = NewIpvsCollector(t.cfg);
  r = testing::Run(*c);
  EXPECT_EQ(r.Value("node_ipvs_backend_connections_inactive"), 40429);
}

TEST(IpvsCollector, ABadRealServerIsLeftOutAndTheOthersKept) {
  CopiedProcfs t;
  std::string text = testing::ReadFixture("node_big/proc/net/ip_vs");
  text.replace(text.find("0A000102:1F90"), 13, "0A0001:1F90");
  t.dir.Write("net/ip_vs", text);
  std::vector<MetricFamily> out;
  auto st = NewIpvsCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(SeriesWithPrefix(out, "node_ipvs_"), 44u - 3u);

  // ip_vs_stats that does not parse: the totals left out, the real servers kept.
  t.dir.Write("net/ip_vs_stats", "garbage\n");
  out.clear();
  st = NewIpvsCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(testing::FindFamily(out, "node_ipvs_connections_total"), nullptr);
  EXPECT_EQ(SeriesWithPrefix(out, "node_ipvs_backend_"), 36u);
}

TEST(IpvsCollector, NoIpvsModuleIsNoSeriesAndNoFailure) {
  CopiedProcfs t;
  std::filesystem::remove(t.dir.path() + "/net/ip_vs_stats");
  std::filesystem::remove(t.dir.path() + "/net/ip_vs");
  std::vector<MetricFamily> out;
  EXPECT_TRUE(NewIpvsCollector(t.cfg)->Collect(out).ok());  // node_exporter: success 0
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lookout
