#pragma once
// Helpers shared by unit tests: fixture paths, running a collector, finding series.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "lookout/clock.h"
#include "lookout/collector.h"
#include "lookout/metrics/collectable.h"
#include "lookout/metrics/metric.h"

namespace lookout::testing {

inline std::string FixturePath(const std::string& rel) {
  return std::string(LOOKOUT_FIXTURES) + "/" + rel;
}

inline std::string ReadFixture(const std::string& rel) {
  std::ifstream in(FixturePath(rel), std::ios::binary);
  EXPECT_TRUE(in.good()) << rel;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The default config pointed at the committed node fixture tree.
inline NodeOptions FixtureNodeOptions() {
  NodeOptions c = DefaultConfig().node;
  c.paths.procfs = FixturePath("node/proc");
  c.paths.sysfs = FixturePath("node/sys");
  c.paths.rootfs = FixturePath("node/root");
  return c;
}

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lookout-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  void Write(const std::string& rel, const std::string& content) const {
    const auto p = std::filesystem::path(path_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }

 private:
  std::string path_;
};

// A scratch copy of a fixture sysfs tree (symlinks kept as symlinks) to break files in, and node
// options pointed at it.
struct CopiedSysfs {
  explicit CopiedSysfs(const std::string& fixture = "node_big/sys") {
    std::filesystem::copy(
        FixturePath(fixture), dir.path(),
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
    cfg.paths.sysfs = dir.path();
  }
  TempDir dir;
  NodeOptions cfg = FixtureNodeOptions();
};

// The big fixture tree's /proc (tests/fixtures/node_big/proc), copied so a test can change it.
struct CopiedProcfs {
  CopiedProcfs() {
    std::filesystem::copy(
        FixturePath("node_big/proc"), dir.path(),
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
    cfg.paths.procfs = dir.path();
  }
  TempDir dir;
  NodeOptions cfg = FixtureNodeOptions();
};

// The samples of the families whose names start with `prefix`.
inline size_t SeriesWithPrefix(const std::vector<MetricFamily>& fs, std::string_view prefix) {
  size_t n = 0;
  for (const MetricFamily& f : fs) {
    if (f.name.starts_with(prefix)) n += f.samples.size();
  }
  return n;
}

inline const MetricFamily* FindFamily(const std::vector<MetricFamily>& fs, std::string_view name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}

inline std::string LabelValue(const Sample& s, std::string_view name) {
  for (const auto& l : s.labels)
    if (l.name == name) return l.value;
  return "<none>";
}

// The value of `family`'s series whose first label is `value` in what `source` collects now
// (a SelfMetrics registry, say); 0 when there is none.
inline double ValueByFirstLabel(Collectable& source, std::string_view family,
                                std::string_view value) {
  std::vector<MetricFamily> out;
  source.Collect(out);
  const MetricFamily* f = FindFamily(out, family);
  if (f == nullptr) return 0;
  for (const auto& s : f->samples) {
    if (!s.labels.empty() && s.labels[0].value == value) return s.value;
  }
  return 0;
}

// A clock tests move by hand.
class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard l(mu_);
    return std::chrono::system_clock::time_point(mono_.time_since_epoch());
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    std::lock_guard l(mu_);
    return mono_;
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard l(mu_);
    mono_ += d;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point mono_{std::chrono::hours(1000)};
};

struct Collected {
  Status status = Ok{};
  std::vector<MetricFamily> families;

  const MetricFamily* Family(const std::string& name) const {
    for (const auto& f : families) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  // Value of the series with exactly these labels (in any order); NaN if absent.
  double Value(const std::string& name, const Labels& labels = {}) const {
    const MetricFamily* f = Family(name);
    if (f == nullptr) return std::nan("");
    for (const auto& s : f->samples) {
      if (s.labels.size() != labels.size()) continue;
      bool all = true;
      for (const auto& l : labels) {
        bool found = false;
        for (const auto& sl : s.labels) found = found || sl == l;
        all = all && found;
      }
      if (all) return s.value;
    }
    return std::nan("");
  }
  size_t SeriesCount(const std::string& name) const {
    const MetricFamily* f = Family(name);
    return f == nullptr ? 0 : f->samples.size();
  }
};

inline Collected Run(Collector& c) {
  Collected r;
  r.status = c.Collect(r.families);
  return r;
}

}  // namespace lookout::testing
