// os: node_os_info and node_os_version from /etc/os-release (or /usr/lib/os-release) under the
// root filesystem, with node_exporter's label set.
#include "agent/collectors/node/os_release.h"

#include "agent/collectors/node/node_collectors.h"
#include "agent/common/file_util.h"
#include "lookout/metrics/family_builder.h"

namespace lookout {

std::map<std::string, std::string> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string> out;
  ForEachLine(text, [&](std::string_view line) {
    line = TrimSpace(line);
    if (line.empty() || line[0] == '#') return;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) return;
    std::string_view v = line.substr(eq + 1);
    std::string value;
    if (!v.empty() && (v[0] == '"' || v[0] == '\'')) {
      const char q = v[0];
      for (size_t i = 1; i < v.size() && v[i] != q; ++i) {
        if (q == '"' && v[i] == '\\' && i + 1 < v.size()) ++i;
        value += v[i];
      }
    } else {
      value = v;
    }
    out[std::string(line.substr(0, eq))] = std::move(value);
  });
  return out;
}

namespace {

class OsCollector final : public Collector {
 public:
  explicit OsCollector(const NodeOptions& cfg) : paths_(cfg.paths), max_(cfg.max_file_bytes) {}
  std::string_view Name() const override { return "os"; }

  Status Collect(std::vector<MetricFamily>& out) override {
    auto text = ReadFileLimited(paths_.Root("etc/os-release"), max_);
    if (!text.ok()) text = ReadFileLimited(paths_.Root("usr/lib/os-release"), max_);
    if (!text.ok()) return text.error();
    auto kv = ParseOsRelease(*text);
    auto get = [&](const char* k) {
      auto it = kv.find(k);
      return it == kv.end() ? std::string() : it->second;
    };
    AddSample(AddFamily(out, "node_os_info",
                        "A metric with a constant '1' value labeled by build_id, id, id_like, "
                        "image_id, image_version, name, pretty_name, variant, variant_id, "
                        "version, version_codename, version_id.",
                        MetricType::kGauge),
              1,
              {{"build_id", get("BUILD_ID")},
               {"id", get("ID")},
               {"id_like", get("ID_LIKE")},
               {"image_id", get("IMAGE_ID")},
               {"image_version", get("IMAGE_VERSION")},
               {"name", get("NAME")},
               {"pretty_name", get("PRETTY_NAME")},
               {"variant", get("VARIANT")},
               {"variant_id", get("VARIANT_ID")},
               {"version", get("VERSION")},
               {"version_codename", get("VERSION_CODENAME")},
               {"version_id", get("VERSION_ID")}});
    // node_exporter takes the leading "major.minor" of VERSION_ID as a number.
    const std::string vid = get("VERSION_ID");
    size_t n = 0;
    while (n < vid.size() && vid[n] >= '0' && vid[n] <= '9') ++n;
    if (n > 0 && n < vid.size() && vid[n] == '.') {
      ++n;
      while (n < vid.size() && vid[n] >= '0' && vid[n] <= '9') ++n;
    }
    if (auto v = ParseDouble(std::string_view(vid).substr(0, n)); v && n > 0) {
      AddSample(AddFamily(out, "node_os_version",
                          "Metric containing the major.minor part of the OS version.",
                          MetricType::kGauge),
                *v, {{"id", get("ID")}, {"id_like", get("ID_LIKE")}, {"name", get("NAME")}});
    }
    return Ok{};
  }

 private:
  HostPaths paths_;
  size_t max_;
};

}  // namespace

std::unique_ptr<Collector> NewOsCollector(const NodeOptions& cfg) {
  return std::make_unique<OsCollector>(cfg);
}

}  // namespace lookout
