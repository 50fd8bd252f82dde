#include "agent/collectors/app/apps_options.h"

#include "lookout/metrics/metric.h"

namespace lookout {
namespace {

void ReadStaticTarget(const YAML::Node& n, const std::string& key, const AppsOptions& apps,
                      StaticTargetOptions& t, const std::string& file) {
  YamlMapReader r(n, key, file);
  if (!n.IsMap()) {
    r.Fail(n, key, "a mapping with url, job, interval, timeout, labels, metric_relabel_configs");
  }
  r.Str("url", &t.url);
  if (!(t.url.starts_with("http://") || t.url.starts_with("https://")) || t.url.size() < 10) {
    r.Fail(r.Get("url"), r.Key("url"), "an http:// or https:// URL");
  }
  r.Str("job", &t.job);
  if (t.job.empty()) {
    // Prometheus would name it after the scrape config; the host:port is the next best thing.
    const size_t start = t.url.find("//") + 2;
    t.job = t.url.substr(start, t.url.find('/', start) - start);
  }
  r.Dur("interval", &t.interval, Duration(1000), Duration(3'600'000));
  r.RelabelConfigs("metric_relabel_configs", &t.metric_relabel_configs);
  r.Dur("timeout", &t.timeout, Duration(100), Duration(600'000));
  const Duration interval = t.interval.count() ? t.interval : apps.scrape_interval;
  const Duration timeout = t.timeout.count() ? t.timeout : apps.scrape_timeout;
  if (timeout > interval) r.Fail(r.Get("timeout"), r.Key("timeout"), "at most the interval");
  if (YAML::Node l = r.Get("labels"); l.IsDefined() && !l.IsNull()) {
    if (!l.IsMap()) r.Fail(l, r.Key("labels"), "a mapping of label names to values");
    for (auto it = l.begin(); it != l.end(); ++it) {
      const std::string name = it->first.Scalar();
      if (!IsValidLabelName(name) || !it->second.IsScalar()) {
        r.Fail(it->first, r.Key("labels"), "label_name: value pairs with valid label names");
      }
      t.labels.emplace_back(name, it->second.Scalar());
    }
  }
  r.Done();
}

}  // namespace

const OptionTable<AppsOptions>& AppsOptionTable() {
  using O = AppsOptions;
  static const OptionTable<O> kTable{
      {
          option::Bool<O>("enabled", &O::enabled, "true",
                          "scrape application targets and re-expose their series"),
          option::Dur<O>("scrape_interval", &O::scrape_interval, Duration(1000),
                         Duration(3'600'000), "30s", "default interval of every target"),
          option::Dur<O>("scrape_timeout", &O::scrape_timeout, Duration(100), Duration(600'000),
                         "10s", "default timeout of every target; at most `scrape_interval`"),
          option::Int<O>("max_concurrent_scrapes", &O::max_concurrent_scrapes, 1, 64, "4",
                         "scrapes in flight at once (one worker thread and keep-alive connection "
                         "each)"),
          option::Int<O>("max_redirects", &O::max_redirects, 0, 50, "10",
                         "redirects followed (as Prometheus); more, or a loop, fails the target "
                         "with `reason=\"redirect\"`"),
          option::Bool<O>("insecure_skip_verify", &O::insecure_skip_verify, "false",
                          "skip certificate checks for `https` targets"),
          option::Bool<O>("pods.enabled", &O::pods_enabled, "true",
                          "scrape pods on this node annotated `prometheus.io/scrape: \"true\"` "
                          "(with `prometheus.io/port`, `/path`, `/scheme`); needs "
                          "`kubernetes.mode` on"),
          option::Str<O>("pods.job", &O::pods_job, "kubernetes-pods", "`job` label of pod targets"),
          option::Custom<O>(
              "pods.metric_relabel_configs", "[]", "list of relabel configs",
              "Prometheus's `metric_relabel_configs` for every pod target: each scraped series "
              "(target labels and `__name__` included) goes through them before it is stored. "
              "Every action of Prometheus 2.42; see \"Relabeling\"",
              [](YamlMapReader& r, std::string_view k, O& o) {
                r.RelabelConfigs(k, &o.pods_metric_relabel_configs);
              }),
          option::Int<O>("limits.max_body_bytes", &O::max_body_bytes, 1024, int64_t{1} << 34,
                         "33554432", "a larger (decompressed) body fails the target: `too_large`"),
          option::Int<O>("limits.max_samples", &O::max_samples, 1, int64_t{1} << 32, "500000",
                         "sample lines per scrape: `sample_limit`"),
          option::Int<O>("limits.max_labels", &O::max_labels, 1, 1024, "64",
                         "labels per series, target labels included: `label_limit`"),
          option::Int<O>("limits.max_label_name_length", &O::max_label_name_length, 1, 1 << 20,
                         "256", "`label_length`"),
          option::Int<O>("limits.max_label_value_length", &O::max_label_value_length, 1, 1 << 24,
                         "4096", "`label_length`"),
          option::Custom<O>(
              "static_targets", "[]", "list of targets",
              "list of `{url, job, interval, timeout, labels, metric_relabel_configs}`; `job` "
              "defaults to the URL's "
              "host:port, `instance` is the host:port, `interval`/`timeout` default to "
              "`scrape_interval`/`scrape_timeout`",
              [](YamlMapReader& r, std::string_view k, O& o) {
                YAML::Node n = r.Get(k);
                if (!n.IsDefined() || n.IsNull()) return;
                if (!n.IsSequence()) r.Fail(n, r.Key(k), "a list of targets");
                o.static_targets.clear();
                for (size_t i = 0; i < n.size(); ++i) {
                  StaticTargetOptions t;
                  ReadStaticTarget(n[i], r.Key(k) + "[" + std::to_string(i) + "]", o, t, r.file());
                  o.static_targets.push_back(std::move(t));
                }
              }),
      },
      [](YamlMapReader& r, O& o) {
        if (o.scrape_timeout > o.scrape_interval) {
          r.Fail(r.Get("scrape_timeout"), r.Key("scrape_timeout"), "at most scrape_interval");
        }
      }};
  return kTable;
}

}  // namespace lookout
