#include "agent/collectors/node/netclass.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <thread>

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/kept_files.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FixtureNodeOptions;

size_t Index(std::string_view attr) {
  for (size_t i = 0; i < kNetClassAttrs.size(); ++i) {
    if (kNetClassAttrs[i] == attr) return i;
  }
  ADD_FAILURE() << attr;
  return 0;
}

TEST(ParseNetClassIface, NumbersLikeGoParseIntBase0) {
  NetClassRaw raw;
  raw[Index("flags")] = "0x1003\n";
  raw[Index("dev_id")] = "0x0\n";
  raw[Index("speed")] = "-1\n";
  raw[Index("mtu")] = " 1500 ";
  raw[Index("address")] = "52:54:00:12:34:56\n";
  raw[Index("ifalias")] = "  spaced alias \n";
  auto n = ParseNetClassIface("eth0", raw);
  ASSERT_TRUE(n.ok()) << n.error().detail;
  EXPECT_EQ(n->flags, 4099);
  EXPECT_EQ(n->dev_id, 0);
  EXPECT_EQ(n->speed, -1);
  EXPECT_EQ(n->mtu, 1500);
  EXPECT_EQ(n->address, "52:54:00:12:34:56");
  EXPECT_EQ(n->ifalias, "spaced alias");
  EXPECT_FALSE(n->carrier.has_value());  // absent file: no value
  EXPECT_EQ(n->operstate, "");

  for (const char* bad : {"", "\n", "up", "1.5", "0x", "99999999999999999999", "12 34"}) {
    NetClassRaw r;
    r[Index("carrier")] = bad;
    auto e = ParseNetClassIface("eth0", r);
    EXPECT_FALSE(e.ok()) << bad;  // procfs fails the whole class then
  }
  NetClassRaw strings;
  const std::string long_duplex(128, 'x');
  strings[Index("duplex")] = long_duplex;  // any string is fine
  EXPECT_TRUE(ParseNetClassIface("eth0", strings).ok());
}

NetClassIface Iface(std::string name) {
  NetClassIface n;
  n.name = std::move(name);
  return n;
}

TEST(NetClassFamilies, SeriesOnlyWhereRead) {
  std::vector<NetClassIface> v;
  v.push_back(Iface("eth0"));
  v[0].operstate = "up";
  v[0].speed = 1000;
  v[0].carrier = 1;
  v[0].carrier_changes = 3;
  v[0].ifalias = "cut \xE2\x82";  // an alias cut inside a character at 128 bytes
  v.push_back(Iface("eth1"));
  v[1].operstate = "down";
  v[1].speed = -1;
  v.push_back(Iface("dummy0"));  // speed unreadable (EINVAL)
  v[2].operstate = "unknown";
  v[2].mtu = 1500;

  auto fs = NetClassFamilies(v, /*ignore_invalid_speed=*/false);
  testing::Collected r;
  r.families = fs;
  EXPECT_EQ(r.Value("node_network_up", {{"device", "eth0"}}), 1);
  EXPECT_EQ(r.Value("node_network_up", {{"device", "dummy0"}}), 0);
  EXPECT_EQ(r.Value("node_network_speed_bytes", {{"device", "eth0"}}), 125000000);
  EXPECT_EQ(r.Value("node_network_speed_bytes", {{"device", "eth1"}}), -125000);
  EXPECT_EQ(r.SeriesCount("node_network_speed_bytes"), 2u);
  EXPECT_EQ(r.SeriesCount("node_network_carrier"), 1u);
  EXPECT_EQ(r.SeriesCount("node_network_mtu_bytes"), 1u);
  EXPECT_EQ(r.Family("node_network_dormant"), nullptr);  // no interface had it
  EXPECT_EQ(r.Family("node_network_carrier_changes_total")->type, MetricType::kCounter);
  EXPECT_EQ(r.Family("node_network_mtu_bytes")->help, "Network device property: mtu_bytes");
  const MetricFamily* info = r.Family("node_network_info");
  ASSERT_EQ(info->samples.size(), 3u);
  EXPECT_EQ(testing::LabelValue(info->samples[0], "ifalias"),
            "cut \xEF\xBF\xBD");  // one U+FFFD per run of bad bytes, as Go
  EXPECT_EQ(testing::LabelValue(info->samples[2], "duplex"), "");
  EXPECT_EQ(info->samples[0].labels.size(), 6u);

  testing::Collected ignore;
  ignore.families = NetClassFamilies(v, /*ignore_invalid_speed=*/true);
  EXPECT_EQ(ignore.SeriesCount("node_network_speed_bytes"), 1u);
  EXPECT_TRUE(NetClassFamilies({}, false).empty());

  std::vector<NetClassIface> huge{Iface("x")};
  huge[0].speed = INT64_MAX;  // Go's int64 arithmetic wraps: keep it finite and defined
  testing::Collected h;
  h.families = NetClassFamilies(huge, false);
  EXPECT_TRUE(std::isfinite(h.Value("node_network_speed_bytes", {{"device", "x"}})));
}

TEST(SysfsAttr, ErrnoRulesOfProcfs) {
  for (int e : {ENOENT, EACCES, EPERM, EOPNOTSUPP, EINVAL, EISDIR, ELOOP}) {
    EXPECT_EQ(ClassifySysfsErrno(e), SysfsAttr::kAbsent) << e;
  }
  EXPECT_EQ(ClassifySysfsErrno(ENODEV), SysfsAttr::kGone);
  EXPECT_EQ(ClassifySysfsErrno(EIO), SysfsAttr::kValue);  // not skipped: an error
}

template <int Errno>
ssize_t FailingRead(int, void*, size_t, off_t) {
  errno = Errno;
  return -1;
}

TEST(ReadSysfsAttr, ReadPathWithInjectedErrors) {
  testing::TempDir d;
  d.Write("speed", "1000\n");
  d.Write("long", std::string(300, 'a'));
  d.Write("dir/x", "");
  std::filesystem::create_symlink("speed", d.path() + "/link");
  const int dir = ::open(d.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  std::string v;
  EXPECT_EQ(*ReadSysfsAttr(dir, "speed", v), SysfsAttr::kValue);
  EXPECT_EQ(v, "1000\n");
  EXPECT_EQ(*ReadSysfsAttr(dir, "long", v), SysfsAttr::kValue);
  EXPECT_EQ(v.size(), 128u);  // one read of at most 128 bytes, as procfs
  EXPECT_EQ(*ReadSysfsAttr(dir, "missing", v), SysfsAttr::kAbsent);
  EXPECT_EQ(*ReadSysfsAttr(dir, "dir", v), SysfsAttr::kAbsent);   // not a regular file
  EXPECT_EQ(*ReadSysfsAttr(dir, "link", v), SysfsAttr::kAbsent);  // procfs skips symlinks
  // What sysfs answers for a virtual NIC's speed, a down NIC's carrier, a removed device:
  EXPECT_EQ(*ReadSysfsAttr(dir, "speed", v, FailingRead<EINVAL>), SysfsAttr::kAbsent);
  EXPECT_EQ(*ReadSysfsAttr(dir, "speed", v, FailingRead<EOPNOTSUPP>), SysfsAttr::kAbsent);
  EXPECT_EQ(*ReadSysfsAttr(dir, "speed", v, FailingRead<ENODEV>), SysfsAttr::kGone);
  auto io = ReadSysfsAttr(dir, "speed", v, FailingRead<EIO>);
  ASSERT_FALSE(io.ok());
  EXPECT_EQ(io.error().reason, "read");
  ::close(dir);
}

TEST(ReadSysfsAttr, RealEinvalFromTheKernel) {
  // lo has no link speed: the kernel answers EINVAL on read (not on open).
  const int dir = ::open("/sys/class/net/lo", O_RDONLY | O_DIRECTORY);
  if (dir < 0) GTEST_SKIP() << "no /sys/class/net/lo";
  const int fd = ::openat(dir, "speed", O_RDONLY);
  char c;
  const bool einval = fd >= 0 && ::read(fd, &c, 1) < 0 && errno == EINVAL;
  if (fd >= 0) ::close(fd);
  if (!einval) {
    ::close(dir);
    GTEST_SKIP() << "this kernel does not refuse /sys/class/net/lo/speed";
  }
  std::string v;
  EXPECT_EQ(*ReadSysfsAttr(dir, "speed", v), SysfsAttr::kAbsent);
  EXPECT_EQ(*ReadSysfsAttr(dir, "mtu", v), SysfsAttr::kValue);
  ::close(dir);
}

TEST(NetclassCollector, FixtureInterfaces) {
  auto r = testing::Run(*NewNetclassCollector(FixtureNodeOptions()));
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.SeriesCount("node_network_up"), 8u);  // bonding_masters (a file) is no interface
  EXPECT_EQ(r.Value("node_network_up", {{"device", "eth0"}}), 1);
  EXPECT_EQ(r.Value("node_network_up", {{"device", "eth1"}}), 0);  // symlinked, like real sysfs
  EXPECT_EQ(r.Value("node_network_speed_bytes", {{"device", "eth0"}}), 125000000);
  EXPECT_EQ(r.Value("node_network_speed_bytes", {{"device", "eth1"}}), -125000);
  EXPECT_TRUE(std::isnan(r.Value("node_network_speed_bytes", {{"device", "dummy0"}})));
  EXPECT_TRUE(std::isnan(r.Value("node_network_speed_bytes", {{"device", "lo"}})));
  EXPECT_EQ(r.Value("node_network_flags", {{"device", "eth0"}}), 4099);
  EXPECT_EQ(r.Value("node_network_protocol_type", {{"device", "lo"}}), 772);
  EXPECT_EQ(r.Value("node_network_iface_link", {{"device", "veth0a1b2c3"}}), 8);
  EXPECT_EQ(r.Value("node_network_carrier", {{"device", "eth3"}}), 0);
  EXPECT_EQ(r.Value("node_network_info", {{"address", "52:54:00:12:34:56"},
                                          {"broadcast", "ff:ff:ff:ff:ff:ff"},
                                          {"device", "eth0"},
                                          {"duplex", "full"},
                                          {"ifalias", "uplink to core-sw1 port 12"},
                                          {"operstate", "up"}}),
            1);
  EXPECT_EQ(r.SeriesCount("node_network_name_assign_type"), 7u);  // not dummy0
}

TEST(NetclassCollector, ExcludeAndInvalidSpeedOptions) {
  NodeOptions cfg = FixtureNodeOptions();
  cfg.netclass.exclude = Pattern("^(veth|dummy)");
  cfg.netclass_ignore_invalid_speed = true;
  auto r = testing::Run(*NewNetclassCollector(cfg));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.SeriesCount("node_network_up"), 6u);
  EXPECT_EQ(r.SeriesCount("node_network_speed_bytes"), 3u);  // eth0, eth2, bond0
}

TEST(NetclassCollector, VanishingInterfacesAndBadValues) {
  testing::TempDir d;
  NodeOptions cfg = FixtureNodeOptions();
  cfg.paths.sysfs = d.path();
  d.Write("class/net/eth0/operstate", "up\n");
  d.Write("class/net/eth0/mtu", "1500\n");
  // A veth removed between the listing and its reads: its symlink now points nowhere.
  std::filesystem::create_symlink("../../devices/virtual/net/veth9", d.path() + "/class/net/veth9");
  auto r = testing::Run(*NewNetclassCollector(cfg));
  ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
  EXPECT_EQ(r.SeriesCount("node_network_up"), 1u);

  d.Write("class/net/eth0/mtu", "big\n");  // procfs fails the collector on a bad number
  auto bad = testing::Run(*NewNetclassCollector(cfg));
  EXPECT_FALSE(bad.status.ok());
  EXPECT_EQ(bad.status.error().reason, "parse");

  cfg.paths.sysfs = d.path() + "/none";
  EXPECT_EQ(testing::Run(*NewNetclassCollector(cfg)).status.error().reason, "open");
}

TEST(NetclassCollector, KeptFilesFollowTheDevice) {
  testing::TempDir d;
  NodeOptions cfg = FixtureNodeOptions();
  cfg.paths.sysfs = d.path();
  d.Write("class/net/eth0/mtu", "1500\n");
  d.Write("class/net/eth0/operstate", "up\n");
  auto c = NewNetclassCollector(cfg);
  EXPECT_EQ(testing::Run(*c).Value("node_network_mtu_bytes", {{"device", "eth0"}}), 1500);
  d.Write("class/net/eth0/mtu", "9000\n");  // sysfs regenerates a file: same file, new value
  EXPECT_EQ(testing::Run(*c).Value("node_network_mtu_bytes", {{"device", "eth0"}}), 9000);
  // The device removed and another created under its name: a new directory, new files.
  d.Write("new/mtu", "1400\n");
  std::filesystem::remove_all(d.path() + "/class/net/eth0");
  std::filesystem::rename(d.path() + "/new", d.path() + "/class/net/eth0");
  auto r = testing::Run(*c);
  EXPECT_EQ(r.Value("node_network_mtu_bytes", {{"device", "eth0"}}), 1400);
  EXPECT_EQ(r.Value("node_network_up", {{"device", "eth0"}}), 0);  // no operstate any more
}

TEST(NetclassCollector, BeyondTheKeptFileLimitFilesAreOpenedEachTime) {
  const size_t saved = KeptFileLimit();
  const size_t before = KeptFilesOpen();
  SetKeptFileLimit(before + 16);  // 16 descriptors left: not one interface's 22 files
  auto c = NewNetclassCollector(FixtureNodeOptions());
  auto uncached = testing::Run(*c);
  EXPECT_EQ(KeptFilesOpen(), before);  // read, but nothing kept
  SetKeptFileLimit(saved);
  auto cached = testing::Run(*NewNetclassCollector(FixtureNodeOptions()));
  ASSERT_TRUE(uncached.status.ok());
  ASSERT_EQ(uncached.families.size(), cached.families.size());
  for (size_t i = 0; i < cached.families.size(); ++i) {
    EXPECT_EQ(uncached.families[i].name, cached.families[i].name);
    ASSERT_EQ(uncached.families[i].samples.size(), cached.families[i].samples.size());
    for (size_t j = 0; j < cached.families[i].samples.size(); ++j) {
      EXPECT_EQ(uncached.families[i].samples[j].value, cached.families[i].samples[j].value);
      EXPECT_EQ(uncached.families[i].samples[j].labels, cached.families[i].samples[j].labels);
    }
  }
}

TEST(NetclassCollector, InterfacesComingAndGoingNeverFailIt) {
  testing::TempDir d;
  NodeOptions cfg = FixtureNodeOptions();
  cfg.paths.sysfs = d.path();
  d.Write("class/net/lo/mtu", "65536\n");
  d.Write("devices/.keep", "");
  std::atomic<bool> stop{false};
  // Pod churn: veths appear (built aside, then renamed in whole, as a file never shows half
  // written in sysfs) and disappear (renamed away, then deleted) while scrapes run.
  std::thread churn([&] {
    const std::string net = d.path() + "/class/net/";
    for (int i = 0; !stop; ++i) {
      const std::string name = "veth" + std::to_string(i % 7);
      const std::string staged = d.path() + "/devices/" + name;
      std::filesystem::remove_all(staged);
      d.Write("devices/" + name + "/operstate", "up\n");
      d.Write("devices/" + name + "/mtu", "1450\n");
      d.Write("devices/" + name + "/speed", "10000\n");
      std::error_code ec;
      std::filesystem::rename(staged, net + name, ec);
      const std::string gone = d.path() + "/devices/gone" + std::to_string(i);
      std::filesystem::rename(net + "veth" + std::to_string((i + 3) % 7), gone, ec);
      std::filesystem::remove_all(gone, ec);
    }
  });
  auto c = NewNetclassCollector(cfg);
  for (int i = 0; i < 300; ++i) {
    auto r = testing::Run(*c);
    ASSERT_TRUE(r.status.ok()) << r.status.error().detail;
    ASSERT_GE(r.SeriesCount("node_network_up"), 1u);
  }
  stop = true;
  churn.join();
}

}  // namespace
}  // namespace lookout
