// The textfile parser and merge. Every expectation about what is refused, kept or dropped was
// checked against Debian's node_exporter 1.5 binary (the fixture parity test runs the same
// cases, tests/fixtures/textfile_cases, through both).
#include "agent/collectors/node/textfile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "agent/collectors/node/node_collectors.h"
#include "tests/unit/test_util.h"

namespace lookout {
namespace {

using testing::FixtureNodeOptions;

bool Refused(std::string_view text) { return !ParseTextfile(text).ok(); }

TEST(ParseTextfile, FamiliesTypesHelp) {
  auto r = ParseTextfile(testing::ReadFixture("node/textfile/good.prom"));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].name, "backup_last_success_timestamp_seconds");
  EXPECT_EQ((*r)[0].type, MetricType::kGauge);
  EXPECT_EQ(*(*r)[0].help, "When the last backup of each volume finished.");
  EXPECT_EQ((*r)[1].type, MetricType::kCounter);
  const TextfileFamily& h = (*r)[2];
  EXPECT_EQ(h.type, MetricType::kHistogram);
  ASSERT_EQ(h.metrics.size(), 1u);
  EXPECT_EQ(h.metrics[0].buckets.size(), 3u);
  EXPECT_EQ(h.metrics[0].count, 415u);
  EXPECT_EQ(h.metrics[0].sum, 53210.5);
  EXPECT_TRUE(h.metrics[0].labels.empty());  // le is not a label of the series
  EXPECT_EQ((*r)[3].metrics[0].quantiles.size(), 2u);
  EXPECT_FALSE((*r)[4].help.has_value());
  EXPECT_EQ((*r)[4].type, MetricType::kUntyped);
}

TEST(ParseTextfile, RefusedLikeExpfmt) {
  EXPECT_TRUE(Refused("foo 1"));  // no final newline: being written
  EXPECT_TRUE(Refused("foo 1\n# comment"));
  EXPECT_TRUE(Refused("# HELP foo x\n# HELP foo y\nfoo 1\n"));  // second HELP
  EXPECT_TRUE(Refused("# TYPE foo gauge\n# TYPE foo gauge\nfoo 1\n"));
  EXPECT_TRUE(Refused("foo 1\n# TYPE foo gauge\n"));  // TYPE after samples
  EXPECT_TRUE(Refused("foo 1 \n"));                   // blank after the value
  EXPECT_TRUE(Refused("foo 1\r\n"));
  EXPECT_TRUE(Refused("foo 1 # comment\n"));
  EXPECT_TRUE(Refused("foo 1 1.5\n"));
  EXPECT_TRUE(Refused("foo 1 123\n"));  // timestamps are not supported
  EXPECT_TRUE(Refused("foo 1 -5\n"));
  EXPECT_TRUE(Refused("# HELP foo a\\tb\nfoo 1\n"));  // HELP escapes: \\ and \n only
  EXPECT_TRUE(Refused("# HELP foo a \\\" b\nfoo 1\n"));
  EXPECT_TRUE(Refused("# HELP foo a\\\nfoo 1\n"));
  EXPECT_TRUE(Refused("foo{a=\"\\t\"} 1\n"));
  EXPECT_TRUE(Refused("foo{a=\"x\ny\"} 1\n"));
  EXPECT_TRUE(Refused("foo{a=\"\xff\"} 1\n"));
  EXPECT_TRUE(Refused("foo{a=\"1\",a=\"2\"} 1\n"));
  EXPECT_TRUE(Refused("foo{__name__=\"x\"} 1\n"));
  EXPECT_TRUE(Refused("foo{__x=\"x\"} 1\n"));  // node_exporter panics on it
  EXPECT_TRUE(Refused("foo{a:b=\"1\"} 1\n"));
  EXPECT_TRUE(Refused("1foo 1\n"));
  EXPECT_TRUE(Refused("foo\n"));
  EXPECT_TRUE(Refused("foo{a=\"1\"\n"));
  EXPECT_TRUE(Refused("# TYPE foo info\nfoo 1\n"));
  EXPECT_TRUE(Refused("# TYPE foo gauge \nfoo 1\n"));
  EXPECT_TRUE(Refused("# TYPE foo gauge_histogram\nfoo 1\n"));  // node_exporter panics
  EXPECT_TRUE(Refused("# HELP foo a\xff\nfoo 1\n"));            // node_exporter: invalid output
  EXPECT_TRUE(Refused("# HELP 1foo x\n"));
  for (const char* v : {"0x10", "1_000", "0x1p4", "+nan", "infin", "1e400", "", "--1"}) {
    EXPECT_TRUE(Refused("a " + std::string(v) + "\n")) << v;
  }
  EXPECT_TRUE(Refused("# TYPE h histogram\nh_bucket{le=\"x\"} 1\n"));
  EXPECT_TRUE(Refused("# TYPE s summary\ns{quantile=\"\"} 1\n"));
}

TEST(ParseTextfile, AcceptedLikeExpfmt) {
  for (const char* ok : {"",
                         "\n\n  \n",
                         "# just a comment\n",
                         "foo 1\n  ",
                         "  foo 1\n",
                         "\t# HELP bar x\nbar 2\n",
                         "foo{} 1\n",
                         "foo{a=\"1\",} 1\n",
                         "foo{ a = \"1\" , b=\"2\" } 1\n",
                         "foo{a=\"1\"}1\n",
                         "foo {a=\"1\"} 1\n",
                         "foo{a=\"x\ty\"} 1\n",
                         "foo{a=\"x\\ny\\\"\\\\\"} 1\n",
                         "a:b:c 1\n",
                         "#HELP foo x\nfoo 1\n",
                         "#\tHELP\tfoo\thelp\nfoo 1\n",
                         "# TYPE foo GAUGE\nfoo 1\n",
                         "# TYPE foo  gauge\nfoo 1\n",
                         "# TYPE foo \xC5\xBFummary\nfoo_sum 1\n",
                         "foo 1\n# EOF\n",
                         "# HELP foo\nfoo 1\n",
                         "# TYPE foo gauge_histogram\nbar 1\n",
                         "a .5\nb 5.\nc +1\nd 1E5\ne inf\nf -Infinity\ng nan\nh 1e-400\n"}) {
    auto r = ParseTextfile(ok);
    EXPECT_TRUE(r.ok()) << ok << ": " << r.error().detail;
  }
  auto help = ParseTextfile("# HELP foo a\\\\b\\nc\nfoo 1\n");
  EXPECT_EQ(*(*help)[0].help, "a\\b\nc");
  auto empty_help = ParseTextfile("# HELP foo \nfoo 1\n");  // no text: no HELP at all
  EXPECT_FALSE((*empty_help)[0].help.has_value());
  auto only_type = ParseTextfile("# TYPE foo counter\n# HELP foo x\n");
  EXPECT_TRUE(only_type->empty());  // families without samples are dropped
  auto late_help = ParseTextfile("foo 1\n# HELP foo late\n");
  EXPECT_EQ(*(*late_help)[0].help, "late");
}

TEST(ParseTextfile, RepeatsAndGoConversions) {
  auto dup = ParseTextfile("foo{a=\"1\"} 1\nfoo{a=\"1\"} 2\n");
  EXPECT_EQ((*dup)[0].metrics.size(), 2u);  // kept: the merge drops the second
  auto h = ParseTextfile(
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2.7\nh_bucket{le=\"1\"} -1\n"
      "h_bucket{le=\"+Inf\"} NaN\nh_count +Inf\nh{le=\"5\"} 3\n");
  ASSERT_TRUE(h.ok()) << h.error().detail;
  const Sample& m = (*h)[0].metrics[0];
  ASSERT_EQ(m.buckets.size(), 4u);
  EXPECT_EQ(m.buckets[0].cumulative_count, 2u);                     // truncated
  EXPECT_EQ(m.buckets[1].cumulative_count, 18446744073709551615u);  // -1 wraps
  EXPECT_EQ(m.buckets[2].cumulative_count, 9223372036854775808u);   // NaN
  EXPECT_EQ(m.count, 9223372036854775808u);                         // +Inf
  EXPECT_EQ(m.buckets[3].upper_bound, 5);  // the family's own name with le is a bucket too
  auto s = ParseTextfile("# TYPE s summary\ns 5\ns{quantile=\"0.9\"} 7\ns_count 2\n");
  EXPECT_EQ((*s)[0].metrics.size(), 1u);
  EXPECT_EQ((*s)[0].metrics[0].quantiles.size(), 1u);
  auto grouped = ParseTextfile(
      "# TYPE h histogram\nh_bucket{b=\"2\",a=\"1\",le=\"1\"} 1\nh_count{a=\"1\",b=\"2\"} 1\n"
      "h_sum{a=\"1\"} 1\n");
  EXPECT_EQ((*grouped)[0].metrics.size(), 2u);       // grouped by label set, order-insensitive
  auto sep = ParseTextfile("x_count 1\nx_sum 2\n");  // no summary x: two untyped families
  EXPECT_EQ(sep->size(), 2u);
}

TEST(ParseTextfile, GarbageTruncatedHuge) {
  EXPECT_TRUE(Refused(std::string("\x00\x01\x02\n", 4)));
  EXPECT_TRUE(Refused("{{{{\n"));
  EXPECT_TRUE(Refused("# TYPE"));
  const std::string good = testing::ReadFixture("node/textfile/good.prom");
  for (size_t n = 1; n < good.size(); ++n) {
    // Every cut that does not end at a line end is refused; cuts at line ends parse.
    const bool at_line_end = good[n - 1] == '\n';
    EXPECT_EQ(ParseTextfile(good.substr(0, n)).ok(), at_line_end) << n;
  }
  std::string big;
  for (int i = 0; i < 100000; ++i)
    big += "big{i=\"" + std::to_string(i) + "\"} " + std::to_string(i) + "\n";
  auto r = ParseTextfile(big);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].metrics.size(), 100000u);
  std::string labels = "wide{";
  for (int i = 0; i < 20000; ++i) labels += "l" + std::to_string(i) + "=\"v\",";
  EXPECT_TRUE(ParseTextfile(labels + "} 1\n").ok());
  EXPECT_TRUE(Refused(labels + "l0=\"v\"} 1\n"));
}

std::shared_ptr<const std::vector<TextfileFamily>> Parsed(std::string_view text) {
  auto r = ParseTextfile(text);
  EXPECT_TRUE(r.ok()) << r.error().detail;
  return std::make_shared<const std::vector<TextfileFamily>>(
      r.ok() ? *r : std::vector<TextfileFamily>{});
}

const MetricFamily* Find(const std::vector<MetricFamily>& fs, std::string_view name) {
  return testing::FindFamily(fs, name);
}

TEST(MergeTextfiles, SharedFamiliesHelpAndLabelUnion) {
  auto out = MergeTextfiles({{"/d/a.prom", Parsed("foo{a=\"1\"} 1\nfoo{b=\"2\"} 2\nbar 1\n")},
                             {"/d/b.prom", Parsed("foo{a=\"3\"} 3\n# HELP baz B\nbaz 1\n")}},
                            {});
  const MetricFamily* foo = Find(out, "foo");
  ASSERT_NE(foo, nullptr);
  EXPECT_EQ(foo->help, "Metric read from /d/a.prom, /d/b.prom");
  ASSERT_EQ(foo->samples.size(), 3u);
  // a.prom's series carry both label names; b.prom's only its own.
  EXPECT_EQ(foo->samples[0].labels.size(), 1u);  // {a="3"}: fewer labels sort first
  EXPECT_EQ(testing::LabelValue(foo->samples[1], "b"), "2");
  EXPECT_EQ(testing::LabelValue(foo->samples[1], "a"), "");
  EXPECT_EQ(testing::LabelValue(foo->samples[2], "b"), "");
  EXPECT_EQ(Find(out, "bar")->help, "Metric read from /d/a.prom");
  EXPECT_EQ(Find(out, "baz")->help, "B");
  EXPECT_EQ(out[0].name, "bar");  // sorted by name
}

TEST(MergeTextfiles, FirstComeFirstServed) {
  auto out = MergeTextfiles(
      {{"/d/a.prom", Parsed("# HELP h1 one\nh1{x=\"1\"} 1\n# TYPE t gauge\nt{x=\"1\"} 1\n"
                            "d{x=\"1\"} 1\nd{x=\"1\"} 9\n# TYPE s summary\ns_sum 1\ns_count 2\n")},
       {"/d/b.prom", Parsed("# HELP h1 two\nh1{x=\"2\"} 2\n# TYPE t counter\nt{x=\"2\"} 2\n"
                            "d{x=\"1\"} 3\nd{x=\"2\"} 4\ns_count 5\nkeep 1\n")}},
      {});
  EXPECT_EQ(Find(out, "h1")->samples.size(), 1u);  // other HELP: dropped
  EXPECT_EQ(Find(out, "t")->samples.size(), 1u);   // other TYPE: dropped
  ASSERT_EQ(Find(out, "d")->samples.size(), 2u);   // repeats: the first kept
  EXPECT_EQ(Find(out, "d")->samples[0].value, 1);
  EXPECT_EQ(Find(out, "s_count"), nullptr);  // collides with summary s
  EXPECT_NE(Find(out, "keep"), nullptr);     // the rest of b.prom is kept
  // A family that has HELP in one file and none in another: the other's help is "Metric read
  // from ...", so its series are dropped.
  auto mixed = MergeTextfiles({{"/d/a.prom", Parsed("# HELP m x\nm{a=\"1\"} 1\n")},
                               {"/d/b.prom", Parsed("m{a=\"2\"} 2\n")}},
                              {});
  EXPECT_EQ(Find(mixed, "m")->samples.size(), 1u);
}

TEST(MergeTextfiles, HistogramsSummariesAndOwnFamilies) {
  auto out = MergeTextfiles(
      {{"/d/a.prom",
        Parsed("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"1\"} 4\nh_sum 3\n"
               "# TYPE s summary\ns{quantile=\"0.9\"} 7\ns{quantile=\"0.9\"} 8\n"
               "s{quantile=\"0.1\"} 1\n"
               "node_textfile_scrape_error 5\n")}},
      {MetricFamily{"node_textfile_scrape_error",
                    "1 if there was an error opening or reading a file, 0 otherwise",
                    MetricType::kGauge,
                    "",
                    {Sample{}}}});
  const Sample& h = Find(out, "h")->samples[0];
  ASSERT_EQ(h.buckets.size(), 2u);
  EXPECT_EQ(h.buckets[0].cumulative_count, 4u);  // the last repeat wins
  EXPECT_TRUE(std::isinf(h.buckets[1].upper_bound));
  EXPECT_EQ(h.buckets[1].cumulative_count, 0u);  // +Inf from the (missing) count
  const Sample& s = Find(out, "s")->samples[0];
  ASSERT_EQ(s.quantiles.size(), 2u);
  EXPECT_EQ(s.quantiles[0].quantile, 0.1);
  EXPECT_EQ(s.quantiles[1].value, 8);
  // A file's family named like the collector's own comes first; the collector's is dropped.
  const MetricFamily* err = Find(out, "node_textfile_scrape_error");
  ASSERT_EQ(err->samples.size(), 1u);
  EXPECT_EQ(err->samples[0].value, 5);
}

NodeOptions TextfileConfig(const std::string& dir) {
  NodeOptions cfg = FixtureNodeOptions();
  cfg.textfile.directory = dir;
  return cfg;
}

TEST(TextfileCollector, FixtureDirectory) {
  const std::string dir = testing::FixturePath("node/textfile");
  auto r = testing::Run(*NewTextfileCollector(TextfileConfig(dir)));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.Value("node_textfile_scrape_error"), 1);  // bad.prom is cut short
  EXPECT_EQ(r.SeriesCount("node_textfile_mtime_seconds"), 2u);
  EXPECT_FALSE(std::isnan(r.Value("node_textfile_mtime_seconds", {{"file", dir + "/good.prom"}})));
  EXPECT_TRUE(std::isnan(r.Value("node_textfile_mtime_seconds", {{"file", dir + "/bad.prom"}})));
  EXPECT_EQ(r.SeriesCount("backup_last_success_timestamp_seconds"), 3u);  // good + second
  EXPECT_EQ(
      r.Value("apt_upgrades_pending", {{"arch", "amd64"}, {"origin", "Debian:bookworm-security"}}),
      2);
  EXPECT_EQ(r.Family("cron_job_last_run_seconds"), nullptr);
  EXPECT_EQ(r.Value("node_reboot_required"), 0);
  EXPECT_EQ(r.Value("node_reboot_required", {{"reason", "kernel"}}), 1);
}

TEST(TextfileCollector, DirectoryStates) {
  auto none = testing::Run(*NewTextfileCollector(TextfileConfig("")));  // the default
  ASSERT_TRUE(none.status.ok());
  EXPECT_EQ(none.families.size(), 1u);
  EXPECT_EQ(none.Value("node_textfile_scrape_error"), 0);

  testing::TempDir d;
  auto missing = testing::Run(*NewTextfileCollector(TextfileConfig(d.path() + "/none")));
  EXPECT_EQ(missing.Value("node_textfile_scrape_error"), 1);

  d.Write("x/a.prom", "a 1\n");
  d.Write("y/b.prom", "b 2\n");
  d.Write("y/sub.prom/.keep", "");  // a directory named *.prom: read as empty
  auto glob = testing::Run(*NewTextfileCollector(TextfileConfig(d.path() + "/[xy]")));
  EXPECT_EQ(glob.Value("a"), 1);
  EXPECT_EQ(glob.Value("b"), 2);
  EXPECT_EQ(glob.Value("node_textfile_scrape_error"), 0);
  EXPECT_EQ(glob.SeriesCount("node_textfile_mtime_seconds"), 3u);
}

TEST(TextfileCollector, SizeCapFifoAndChanges) {
  testing::TempDir d;
  NodeOptions cfg = TextfileConfig(d.path());
  cfg.textfile.max_file_bytes = 1024;
  d.Write("small.prom", "small 1\n");
  d.Write("big.prom", std::string(2000, '#') + "\nbig 1\n");
  ASSERT_EQ(::mkfifo((d.path() + "/pipe.prom").c_str(), 0600), 0);
  auto c = NewTextfileCollector(cfg);
  auto r = testing::Run(*c);  // must not block on the FIFO
  EXPECT_EQ(r.Value("small"), 1);
  EXPECT_EQ(r.Family("big"), nullptr);
  EXPECT_EQ(r.Value("node_textfile_scrape_error"), 1);
  EXPECT_EQ(r.SeriesCount("node_textfile_mtime_seconds"), 1u);

  std::filesystem::remove(d.path() + "/pipe.prom");
  std::filesystem::remove(d.path() + "/big.prom");
  EXPECT_EQ(testing::Run(*c).Value("node_textfile_scrape_error"), 0);
  // Rewritten (the cache notices size/mtime/ctime), replaced by rename (a new inode).
  d.Write("small.prom", "small 22\n");
  EXPECT_EQ(testing::Run(*c).Value("small"), 22);
  d.Write("next.tmp", "small 3\n");
  std::filesystem::rename(d.path() + "/next.tmp", d.path() + "/small.prom");
  EXPECT_EQ(testing::Run(*c).Value("small"), 3);
  d.Write("small.prom", "small 4");  // being written: refused until its newline arrives
  auto partial = testing::Run(*c);
  EXPECT_EQ(partial.Family("small"), nullptr);
  EXPECT_EQ(partial.Value("node_textfile_scrape_error"), 1);
}

}  // namespace
}  // namespace lookout
