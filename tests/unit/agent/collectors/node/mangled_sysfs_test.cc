// The sysfs collectors of the big-machine tree, with each of their files mangled in turn
// (empty, NUL, garbage, "N/A", negative, huge, not UTF-8, deleted, a directory): nothing crashes or
// hangs, only the collector that reads the file may report an error, and it keeps its series
// for the other entries.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "agent/collectors/collector_set.h"
#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

// Where each collector's files live in tests/fixtures/node_big/sys; the first match owns a file.
const std::vector<std::pair<std::string, std::string>>& OwnerDirs() {
  static const std::vector<std::pair<std::string, std::string>> kDirs = {
      // First: a bcache cache device's files sit under its block device's directory (an NVMe
      // namespace's .../nvme/nvme0/nvme0n1/bcache/), and bcache, not nvme, reads them.
      {"bcache", "bcache"},
      {"devices/virtual/dmi/", "dmi"},
      {"devices/system/edac/", "edac"},
      {"devices/virtual/powercap/", "rapl"},
      {"/hwmon/hwmon", "hwmon"},
      {"/nvme/nvme", "nvme"},
      {"/power_supply/", "powersupplyclass"},
      {"/scsi_tape/", "tapestats"},
      {"fs/xfs/", "xfs"},
      {"fs/btrfs/", "btrfs"},
      {"/infiniband/", "infiniband"},
      {"/fc_host/", "fibrechannel"},
  };
  return kDirs;
}

std::string OwnerOf(const std::string& rel) {
  for (const auto& [part, owner] : OwnerDirs()) {
    if (rel.find(part) != std::string::npos) return owner;
  }
  return "";
}

struct Outcome {
  std::set<std::string> succeeded;
  std::map<std::string, size_t> series;  // by collector, from its families' prefixes
};

Outcome CollectSysfs(const NodeOptions& cfg) {
  CollectorSet set(MakeNodeCollectors(cfg));
  std::vector<MetricFamily> out;
  set.Collect(out);
  Outcome r;
  for (const auto& f : out) {
    if (f.name == "lookout_collector_success") {
      for (const auto& s : f.samples) {
        if (s.value == 1) r.succeeded.insert(s.labels.front().value);
      }
      continue;
    }
    for (const char* c : {"dmi", "edac", "rapl", "hwmon", "nvme", "power_supply", "tape", "xfs",
                          "btrfs", "infiniband", "fibrechannel", "bcache"}) {
      if (f.name.rfind(std::string("node_") + c + "_", 0) == 0) {
        const std::string name = c;
        r.series[name == "power_supply" ? "powersupplyclass"
                 : name == "tape"       ? "tapestats"
                                        : name] += f.samples.size();
      }
    }
  }
  return r;
}

TEST(MangledSysfs, AMangledFileFailsOnlyItsOwnerAndCostsAtMostItsEntry) {
  testing::CopiedSysfs t;
  const testing::TempDir& dir = t.dir;
  NodeOptions& cfg = t.cfg;
  cfg.max_file_bytes = 4096;
  for (auto& [name, on] : cfg.enabled) {
    // cpufreq's 64 CPUs would only slow this down: thermal_zone stands for the bystanders.
    on = name == "thermal_zone" || name == "hwmon" || name == "dmi" || name == "edac" ||
         name == "rapl" || name == "nvme" || name == "powersupplyclass" || name == "tapestats" ||
         name == "xfs" || name == "btrfs" || name == "infiniband" || name == "fibrechannel" ||
         name == "bcache";
  }
  const Outcome healthy = CollectSysfs(cfg);
  ASSERT_EQ(healthy.succeeded.size(), 13u);

  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file() || e.is_symlink()) continue;
    const std::string rel = fs::relative(e.path(), dir.path()).string();
    if (!OwnerOf(rel).empty()) files.push_back(rel);
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 200u);

  // Each file gets the first three, and one of the others in turn (the test reads 340 files;
  // every variant still meets every collector).
  const std::vector<std::string> always = {"", "garbage without shape\n",
                                           std::string(cfg.max_file_bytes - 1, '7')};
  const std::vector<std::string> rotating = {"\n", std::string(1, '\0'), "N/A\n", "-1\n",
                                             "\xff\xfe\n"};
  size_t turn = 0;
  for (const std::string& rel : files) {
    std::vector<std::string> variants = always;
    variants.push_back(rotating[turn++ % rotating.size()]);
    const std::string owner = OwnerOf(rel);
    const std::string orig = testing::ReadFixture("node_big/sys/" + rel);
    // The bystanders are checked once per file (on garbage); the other mangles run the owner
    // alone, which is what they can break. All 13 collectors on every mangle cost 4x the time
    // (232 s under ASan), for files no bystander opens.
    NodeOptions owner_only = cfg;
    for (auto& [name, on] : owner_only.enabled) on = name == owner;
    auto check = [&](const std::string& what, bool bystanders = false) {
      const Outcome r = CollectSysfs(bystanders ? cfg : owner_only);  // no crash, hang or throw
      if (bystanders) {
        for (const auto& name : healthy.succeeded) {
          if (name == owner) continue;
          EXPECT_TRUE(r.succeeded.count(name)) << name << " failed: " << rel << " " << what;
        }
      }
      // The owner loses at most the entry the file belongs to, never everything (but a rapl
      // zone without a readable max_energy_range_uj empties rapl, as node_exporter's ErrNoData).
      if (owner != "rapl" && healthy.series.at(owner) > 1) {
        EXPECT_GT(r.series.count(owner) ? r.series.at(owner) : 0, 0u)
            << owner << " lost every series: " << rel << " " << what;
      }
    };
    for (size_t v = 0; v < variants.size(); ++v) {
      dir.Write(rel, variants[v]);
      check("variant " + std::to_string(v), v == 1);
    }
    fs::remove(fs::path(dir.path()) / rel);
    check("deleted");
    fs::create_directory(fs::path(dir.path()) / rel);
    check("a directory");
    fs::remove(fs::path(dir.path()) / rel);
    dir.Write(rel, orig);
  }
}

}  // namespace
}  // namespace lookout
