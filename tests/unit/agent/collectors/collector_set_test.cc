#include "agent/collectors/collector_set.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <random>
#include <set>
#include <stdexcept>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

class FailingCollector final : public Collector {
 public:
  explicit FailingCollector(bool throws) : throws_(throws) {}
  std::string_view Name() const override { return throws_ ? "thrower" : "failer"; }
  Status Collect(std::vector<MetricFamily>& out) override {
    out.push_back(
        MetricFamily{"partial_data", "must not leak", MetricType::kGauge, "", {Sample{}}});
    if (throws_) throw std::runtime_error("boom");
    return MakeError("parse", "bad input");
  }

 private:
  bool throws_;
};

// Throws what a library or the allocator might: really, through the real CollectorSet.
class ThrowingCollector final : public Collector {
 public:
  explicit ThrowingCollector(int what) : what_(what) {}
  std::string_view Name() const override { return what_ == 0 ? "bad_alloc" : "odd_throw"; }
  Status Collect(std::vector<MetricFamily>& out) override {
    out.push_back(MetricFamily{"half_built", "", MetricType::kGauge, "", {Sample{}}});
    if (what_ == 0) throw std::bad_alloc();
    throw 42;  // not even a std::exception
  }

 private:
  int what_;
};

double Success(const std::vector<MetricFamily>& fams, const std::string& collector) {
  for (const auto& f : fams) {
    if (f.name != "lookout_collector_success") continue;
    for (const auto& s : f.samples) {
      if (s.labels[0].value == collector) return s.value;
    }
  }
  return -1;
}

const MetricFamily* Find(const std::vector<MetricFamily>& out, std::string_view name) {
  for (const auto& f : out) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(CollectorSet, FailingCollectorDropsItsOutputAndCountsReason) {
  std::vector<std::unique_ptr<Collector>> cs;
  cs.push_back(std::make_unique<FailingCollector>(false));
  cs.push_back(NewLoadavgCollector(testing::FixtureNodeOptions()));
  CollectorSet set(std::move(cs));
  std::vector<MetricFamily> out;
  set.Collect(out);
  EXPECT_EQ(Success(out, "failer"), 0);
  EXPECT_EQ(Success(out, "loadavg"), 1);
  for (const auto& f : out) EXPECT_NE(f.name, "partial_data");
  // The failure shows in the scrape it happened in (it used to lag one scrape behind).
  const MetricFamily* errors = Find(out, "lookout_collector_errors_total");
  ASSERT_NE(errors, nullptr);
  ASSERT_EQ(errors->samples.size(), 1u);
  EXPECT_EQ(errors->samples[0].labels[0].value, "failer");
  EXPECT_EQ(errors->samples[0].labels[1].value, "parse");
  EXPECT_EQ(errors->samples[0].value, 1);
}

// Left out one entry it could not read: its other series stay, the failure still counts.
class PartialCollector final : public Collector {
 public:
  std::string_view Name() const override { return "partial"; }
  Status Collect(std::vector<MetricFamily>& out) override {
    out.push_back(MetricFamily{"kept_series", "", MetricType::kGauge, "", {Sample{}}});
    SkippedEntries skipped;
    skipped.Add(MakeError("read", "sensor1: EIO"));
    skipped.Add(MakeError("parse", "sensor2: N/A"));
    return skipped.ToStatus();
  }
};

TEST(CollectorSet, APartialErrorKeepsTheOtherSeriesStaysSuccessfulAndCountsTheFirstReason) {
  std::vector<std::unique_ptr<Collector>> cs;
  cs.push_back(std::make_unique<PartialCollector>());
  CollectorSet set(std::move(cs));
  std::vector<MetricFamily> out;
  set.Collect(out);
  EXPECT_NE(Find(out, "kept_series"), nullptr);
  EXPECT_EQ(Success(out, "partial"), 1);
  const MetricFamily* errors = Find(out, "lookout_collector_errors_total");
  ASSERT_NE(errors, nullptr);
  ASSERT_EQ(errors->samples.size(), 1u);
  EXPECT_EQ(errors->samples[0].labels[1].value, "read");
  EXPECT_TRUE(SkippedEntries().ToStatus().ok());
}

TEST(CollectorSet, ACollectorThatThrowsFailsAloneAndTheScrapeGoesOn) {
  std::vector<std::unique_ptr<Collector>> cs;
  cs.push_back(std::make_unique<FailingCollector>(true));
  cs.push_back(std::make_unique<ThrowingCollector>(0));
  cs.push_back(std::make_unique<ThrowingCollector>(1));
  cs.push_back(NewLoadavgCollector(testing::FixtureNodeOptions()));
  CollectorSet set(std::move(cs));
  std::vector<MetricFamily> out;
  set.Collect(out);  // a noexcept interface made this std::terminate
  for (const char* name : {"thrower", "bad_alloc", "odd_throw"}) {
    EXPECT_EQ(Success(out, name), 0) << name;
  }
  EXPECT_EQ(Success(out, "loadavg"), 1);
  EXPECT_NE(Find(out, "node_load1"), nullptr);
  for (const auto& f : out) EXPECT_TRUE(f.name != "partial_data" && f.name != "half_built");
  const MetricFamily* errors = Find(out, "lookout_collector_errors_total");
  ASSERT_NE(errors, nullptr);
  ASSERT_EQ(errors->samples.size(), 3u);
  for (const auto& s : errors->samples) EXPECT_EQ(s.labels[1].value, "exception");
}

TEST(CollectorSet, ErrorsCountNFailuresAfterNScrapes) {
  std::vector<std::unique_ptr<Collector>> cs;
  cs.push_back(std::make_unique<FailingCollector>(false));
  CollectorSet set(std::move(cs));
  for (int n = 1; n <= 5; ++n) {
    std::vector<MetricFamily> out;
    set.Collect(out);
    const MetricFamily* errors = Find(out, "lookout_collector_errors_total");
    ASSERT_NE(errors, nullptr) << "scrape " << n;
    EXPECT_EQ(errors->samples.at(0).value, n);
  }
}

// Copies the fixture procfs, plus the big tree's /proc files it lacks (NFS, ZFS, IPVS), into a
// scratch dir so files can be mangled.
class MangledProc : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(testing::FixturePath("node/proc"), dir_.path(), fs::copy_options::recursive);
    fs::copy(testing::FixturePath("node_big/proc"), dir_.path(),
             fs::copy_options::recursive | fs::copy_options::skip_existing);
    cfg_ = testing::FixtureNodeOptions();
    cfg_.paths.procfs = dir_.path();
    cfg_.max_file_bytes = size_t{64} * 1024;
  }

  std::vector<MetricFamily> CollectAll() { return CollectWith(cfg_); }
  std::vector<MetricFamily> CollectWith(const NodeOptions& cfg) {
    CollectorSet set(MakeNodeCollectors(cfg));
    std::vector<MetricFamily> out;
    set.Collect(out);
    return out;
  }

  std::vector<std::string> ProcFiles() const {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
      if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir_.path()).string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  testing::TempDir dir_;
  NodeOptions cfg_;
};

// The collectors that read each fixture file under /proc: only they may fail when it is mangled.
// A path is a prefix of the files it owns, or the whole name when it ends in '$'.
std::set<std::string> Owners(const std::string& rel) {
  static const std::vector<std::pair<std::string, std::set<std::string>>> kOwners = {
      {"1/mounts", {"filesystem", "btrfs"}},
      {"diskstats", {"diskstats"}},
      {"loadavg", {"loadavg"}},
      {"mdstat", {"mdadm"}},
      {"meminfo", {"meminfo"}},
      {"net/arp", {"arp"}},
      {"net/dev", {"netdev"}},
      {"net/netstat", {"netstat"}},
      {"net/rpc/nfs$", {"nfs"}},
      {"net/rpc/nfsd$", {"nfsd"}},
      {"net/ip_vs", {"ipvs"}},    // ip_vs and ip_vs_stats
      {"net/snmp", {"netstat"}},  // snmp and snmp6
      {"net/sockstat", {"sockstat"}},
      {"net/softnet_stat", {"softnet"}},
      {"net/stat/nf_conntrack", {"conntrack"}},
      {"net/udp", {"udp_queues"}},  // udp and udp6
      {"pressure/", {"pressure"}},
      {"schedstat", {"schedstat"}},
      {"spl/kstat/zfs/", {"zfs"}},
      {"stat", {"cpu", "stat"}},
      {"sys/fs/file-nr", {"filefd"}},
      {"sys/kernel/random/", {"entropy"}},
      {"sys/net/netfilter/", {"conntrack"}},
      {"vmstat", {"vmstat"}},
  };
  std::set<std::string> owners;
  for (const auto& [prefix, names] : kOwners) {
    const bool whole = prefix.back() == '$';
    const bool match =
        whole ? rel == prefix.substr(0, prefix.size() - 1) : rel.rfind(prefix, 0) == 0;
    if (match) owners.insert(names.begin(), names.end());
  }
  return owners;
}

std::set<std::string> Succeeded(const std::vector<MetricFamily>& fams) {
  std::set<std::string> ok;
  for (const auto& f : fams) {
    if (f.name != "lookout_collector_success") continue;
    for (const auto& s : f.samples) {
      if (s.value == 1) ok.insert(std::string(s.labels.front().value));
    }
  }
  return ok;
}

TEST_F(MangledProc, AMangledFileFailsOnlyItsOwners) {
  const std::vector<MetricFamily> all = CollectAll();
  const std::set<std::string> healthy = Succeeded(all);
  ASSERT_GT(healthy.size(), 20u);
  ASSERT_NE(testing::FindFamily(all, "node_nfsd_server_threads"), nullptr);  // big tree copied
  std::mt19937 rng(20261124);  // fixed seed: failures reproduce
  for (const auto& rel : ProcFiles()) {
    std::ifstream copied(fs::path(dir_.path()) / rel, std::ios::binary);
    const std::string orig(std::istreambuf_iterator<char>(copied), {});
    // Empty, a NUL, garbage, truncated, huge (just under the cap) and random damage.
    std::vector<std::string> variants = {"",
                                         "\n",
                                         std::string(1, '\0'),
                                         "garbage without shape",
                                         orig.substr(0, orig.size() / 2),
                                         std::string(cfg_.max_file_bytes - 1, '7')};
    for (int i = 0; i < 40; ++i) {
      std::string m = orig;
      if (m.empty()) break;
      const int ops = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < ops; ++k) {
        const size_t pos = rng() % m.size();
        switch (rng() % 4) {
          case 0:
            m[pos] = static_cast<char>(rng() % 256);
            break;  // flip a byte
          case 1:
            m.erase(pos, rng() % 16);
            break;  // drop a run
          case 2:
            m.insert(pos, std::string(rng() % 8, ' '));
            break;  // stretch spacing
          default:
            m.resize(pos);
            break;  // truncate
        }
        if (m.empty()) break;
      }
      variants.push_back(std::move(m));
    }
    const std::set<std::string> owners = Owners(rel);
    // The bystanders are checked on the six fixed variants and on deletion; the 40 random ones
    // run the owners alone (they must not crash, hang or throw), which is what random damage to
    // their file can break: every collector on every variant took 80 s under ASan.
    NodeOptions owners_only = cfg_;
    for (auto& [name, on] : owners_only.enabled) on = on && owners.count(name) > 0;
    auto check = [&](const std::string& what, bool bystanders) {
      const std::set<std::string> ok = Succeeded(CollectWith(bystanders ? cfg_ : owners_only));
      if (!bystanders) return;
      for (const auto& name : healthy) {
        if (owners.count(name)) continue;
        EXPECT_TRUE(ok.count(name)) << name << " failed: " << rel << " " << what;
      }
    };
    for (size_t v = 0; v < variants.size(); ++v) {
      dir_.Write(rel, variants[v]);
      check("variant " + std::to_string(v), v < 6 || owners.empty());
    }
    fs::remove(fs::path(dir_.path()) / rel);
    check("deleted", true);
    dir_.Write(rel, orig);
  }
}

TEST_F(MangledProc, HugeFileFailsOnlyItsCollector) {
  dir_.Write("meminfo", std::string(cfg_.max_file_bytes + 1, 'x'));
  auto out = CollectAll();
  EXPECT_EQ(Success(out, "meminfo"), 0);
  EXPECT_EQ(Success(out, "cpu"), 1);
  EXPECT_EQ(Success(out, "filesystem"), 1);
  EXPECT_EQ(Success(out, "netstat"), 1);
}

TEST_F(MangledProc, MissingFilesFailOnlyTheirCollectors) {
  fs::remove(fs::path(dir_.path()) / "stat");
  fs::remove(fs::path(dir_.path()) / "net" / "dev");
  auto out = CollectAll();
  EXPECT_EQ(Success(out, "cpu"), 0);
  EXPECT_EQ(Success(out, "stat"), 0);
  EXPECT_EQ(Success(out, "netdev"), 0);
  EXPECT_EQ(Success(out, "meminfo"), 1);
  EXPECT_EQ(Success(out, "sockstat"), 1);
}

TEST_F(MangledProc, VeryLongLines) {
  dir_.Write("loadavg", "0.5" + std::string(60000, ' ') + "1 2 3/4 5\n");
  dir_.Write("vmstat", "pgfault " + std::string(50000, '1') + "\n");
  auto out = CollectAll();
  EXPECT_EQ(Success(out, "loadavg"), 1);  // a long but valid line still parses
  EXPECT_EQ(Success(out, "vmstat"), 0);   // does not fit in 64 bits: an error, not a wrap
}

}  // namespace
}  // namespace lookout
