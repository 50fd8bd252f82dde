// dmi, edac and nvme: small sysfs collectors, on the big-machine fixture tree and on copies of
// it with files broken the ways drivers break them.
#include <cerrno>
#include <filesystem>

#include "agent/collectors/node/dmi.h"
#include "agent/collectors/node/edac.h"
#include "agent/collectors/node/node_collectors.h"
#include "agent/collectors/node/nvme.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

namespace fs = std::filesystem;

TEST(DmiLabelForFile, NodeExportersNames) {
  EXPECT_EQ(DmiLabelForFile("sys_vendor"), "system_vendor");
  EXPECT_EQ(DmiLabelForFile("product_uuid"), "product_uuid");
  EXPECT_EQ(DmiLabelForFile("chassis_type"), "");
  EXPECT_EQ(DmiLabelForFile("modalias"), "");
}

TEST(DmiCollector, FixtureTreeAndBadFiles) {
  testing::CopiedSysfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewDmiCollector(t.cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].samples[0].labels.size(), 20u);
  EXPECT_EQ(testing::LabelValue(out[0].samples[0], "system_vendor"), "Supermicro");
  EXPECT_EQ(testing::LabelValue(out[0].samples[0], "bios_date"), "03/14/2023");

  // Not UTF-8, and a product_name that is a directory now (not a regular file: skipped).
  const std::string id = "devices/virtual/dmi/id/";
  t.dir.Write(id + "board_name", "X12\xff\n");
  fs::remove(t.dir.path() + "/" + id + "product_name");
  fs::create_directory(t.dir.path() + "/" + id + "product_name");
  out.clear();
  ASSERT_TRUE(NewDmiCollector(t.cfg)->Collect(out).ok());
  EXPECT_EQ(testing::LabelValue(out[0].samples[0], "board_name"), "X12\xef\xbf\xbd");
  EXPECT_EQ(testing::LabelValue(out[0].samples[0], "product_name"), "<none>");

  t.cfg.paths.sysfs = t.dir.path() + "/nowhere";  // no DMI: no series, no failure
  out.clear();
  EXPECT_TRUE(NewDmiCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(EdacEntryNumber, DigitsAfterThePrefix) {
  EXPECT_EQ(EdacEntryNumber("mc10", "mc"), "10");
  EXPECT_EQ(EdacEntryNumber("csrow3", "csrow"), "3");
  EXPECT_EQ(EdacEntryNumber("mc1x", "mc"), "1");
}

TEST(EdacCollector, FixtureTreeAndABadCsrow) {
  testing::CopiedSysfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewEdacCollector(t.cfg)->Collect(out).ok());
  const MetricFamily* ce = testing::FindFamily(out, "node_edac_correctable_errors_total");
  ASSERT_NE(ce, nullptr);
  ASSERT_EQ(ce->samples.size(), 3u);  // mc0, mc1, mc10
  EXPECT_EQ(testing::LabelValue(ce->samples[2], "controller"), "10");
  EXPECT_EQ(ce->samples[2].value, 4294967295.0);
  const MetricFamily* rows = testing::FindFamily(out, "node_edac_csrow_correctable_errors_total");
  ASSERT_NE(rows, nullptr);
  EXPECT_EQ(rows->samples.size(), 3u + 3u);  // one "unknown" per controller + 3 csrows

  // csrow1 of mc0 answers EIO-like garbage: that csrow is left out, the rest stays.
  t.dir.Write("devices/system/edac/mc/mc0/csrow1/ue_count", "-1\n");
  out.clear();
  auto st = NewEdacCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  EXPECT_EQ(st.error().reason, "parse");
  EXPECT_EQ(testing::FindFamily(out, "node_edac_csrow_correctable_errors_total")->samples.size(),
            5u);
  EXPECT_EQ(testing::FindFamily(out, "node_edac_correctable_errors_total")->samples.size(), 3u);

  // "mc1x" also names controller 1: the first (mc1) is kept, as node_exporter's registry does.
  std::filesystem::copy(t.dir.path() + "/devices/system/edac/mc/mc1",
                        t.dir.path() + "/devices/system/edac/mc/mc1x",
                        std::filesystem::copy_options::recursive);
  t.dir.Write("devices/system/edac/mc/mc1x/ce_count", "99\n");
  out.clear();
  st = NewEdacCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  const MetricFamily* ce2 = testing::FindFamily(out, "node_edac_correctable_errors_total");
  ASSERT_EQ(ce2->samples.size(), 3u);
  EXPECT_EQ(ce2->samples[1].value, 0);  // mc1's, not mc1x's 99

  t.cfg.paths.sysfs = t.dir.path() + "/nowhere";
  out.clear();
  EXPECT_TRUE(NewEdacCollector(t.cfg)->Collect(out).ok());
  EXPECT_TRUE(out.empty());
}

SysfsValue V(std::string text) { return {0, std::move(text)}; }
SysfsValue E(int err) { return {err, ""}; }

TEST(ParseNvmeDevice, AllFourFilesRequired) {
  auto d = ParseNvmeDevice({V("5B2QGXA7"), V("Samsung SSD"), V("S5GX"), V("live")});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state, "live");
  EXPECT_FALSE(ParseNvmeDevice({V("f"), V("m"), V("s"), E(ENOENT)}).ok());
  EXPECT_FALSE(ParseNvmeDevice({E(EIO), V("m"), V("s"), V("live")}).ok());
  EXPECT_EQ(ParseNvmeDevice({V("f"), V("m\xfe"), V("s"), V("live")})->model, "m\xef\xbf\xbd");
}

TEST(NvmeCollector, FixtureTreeAndAVanishedController) {
  testing::CopiedSysfs t;
  std::vector<MetricFamily> out;
  ASSERT_TRUE(NewNvmeCollector(t.cfg)->Collect(out).ok());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].samples.size(), 2u);
  EXPECT_EQ(testing::LabelValue(out[0].samples[1], "state"), "resetting");

  // nvme0's device directory is gone (hot-unplugged mid-scrape): nvme1 stays.
  fs::remove_all(t.dir.path() + "/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0");
  out.clear();
  auto st = NewNvmeCollector(t.cfg)->Collect(out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().partial);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].samples.size(), 1u);
  EXPECT_EQ(testing::LabelValue(out[0].samples[0], "device"), "nvme1");
}

}  // namespace
}  // namespace lookout
