#include "agent/slo/rule_generator.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>

namespace lookout::slo {
namespace {

using std::chrono::hours;

std::string Quote(std::string_view v) {  // a PromQL string literal
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string By(const std::vector<std::string>& fixed, const std::vector<std::string>& group) {
  std::vector<std::string> labels = fixed;
  labels.insert(labels.end(), group.begin(), group.end());
  return fmt::format("sum by ({})", fmt::join(labels, ", "));
}

struct Rule {
  std::string record_or_alert;
  bool alert = false;
  std::string expr;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;
};

struct Group {
  std::string name;
  std::string interval;
  std::vector<Rule> rules;
};

void Emit(YAML::Emitter& e, const std::vector<Group>& groups) {
  e << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  for (const auto& g : groups) {
    e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << g.name;
    if (!g.interval.empty()) e << YAML::Key << "interval" << YAML::Value << g.interval;
    e << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : g.rules) {
      e << YAML::BeginMap;
      e << YAML::Key << (r.alert ? "alert" : "record") << YAML::Value << r.record_or_alert;
      e << YAML::Key << "expr" << YAML::Value;
      if (r.expr.find('\n') != std::string::npos) e << YAML::Literal;
      e << r.expr;
      for (const auto* kv : {&r.labels, &r.annotations}) {
        if (kv->empty()) continue;
        e << YAML::Key << (kv == &r.labels ? "labels" : "annotations") << YAML::Value
          << YAML::BeginMap;
        for (const auto& [k, v] : *kv) {
          e << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
        }
        e << YAML::EndMap;
      }
      e << YAML::EndMap;
    }
    e << YAML::EndSeq << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
}

// metric{slo="..."} or metric{slo="...", window="..."} ({{ and }} are fmt's literal braces).
std::string Sel(const std::string& metric, const std::string& slo, const std::string& window) {
  if (window.empty()) return fmt::format("{}{{slo={}}}", metric, Quote(slo));
  return fmt::format("{}{{slo={}, window={}}}", metric, Quote(slo), Quote(window));
}

void SloRules(const SloSpec& s, std::vector<Group>& groups) {
  const std::vector<std::string> fixed = {"slo", "service"};
  const std::string by = By(fixed, s.sli.group_by);
  const std::string budget = fmt::format("(1 - {})", FormatNumber(s.objective));
  Group fast{fmt::format("lookout-slo-{}", s.name), "", {}};
  Group period{fmt::format("lookout-slo-{}-period", s.name), s.period >= hours(24) ? "5m" : "", {}};
  for (const SloDuration w : s.Windows()) {
    const std::string win = FormatSloDuration(w);
    Group& g = w == s.period ? period : fast;
    // The slo label is in every series already; repeating it here keeps each rule's output
    // label set distinct across SLOs (promtool's duplicate-rule lint).
    const std::vector<std::pair<std::string, std::string>> wl = {{"slo", s.name}, {"window", win}};
    for (const char* counter : {"events", "good_events"}) {
      g.rules.push_back(
          {fmt::format("lookout:slo_{}:increase", counter),
           false,
           fmt::format("{} (increase({}[{}]))", by,
                       Sel(fmt::format("lookout_slo_{}_total", counter), s.name, ""), win),
           wl,
           {}});
    }
    // Absent without events (the > 0 filter), never NaN; good can outrun total by a scrape.
    g.rules.push_back({"lookout:slo_error_ratio",
                       false,
                       fmt::format("1 - clamp_max({} / ({} > 0), 1)",
                                   Sel("lookout:slo_good_events:increase", s.name, win),
                                   Sel("lookout:slo_events:increase", s.name, win)),
                       wl,
                       {}});
    g.rules.push_back({"lookout:slo_burn_rate",
                       false,
                       fmt::format("{} / {}", Sel("lookout:slo_error_ratio", s.name, win), budget),
                       wl,
                       {}});
    if (w == s.period) {
      g.rules.push_back(
          {"lookout:slo_error_budget_remaining",
           false,
           fmt::format("1 - max without (window) ({})", Sel("lookout:slo_burn_rate", s.name, win)),
           {{"slo", s.name}},
           {}});
    }
  }
  for (const auto* conds : {&s.page, &s.ticket}) {
    if (conds->empty()) continue;
    const bool page = conds == &s.page;
    std::string expr;
    std::string windows_text;
    for (size_t i = 0; i < conds->size(); ++i) {
      const auto& c = (*conds)[i];
      const std::string f = FormatNumber(c.burn_rate);
      auto burn = [&](SloDuration w) {
        return fmt::format("max without (window) ({}) > {}",
                           Sel("lookout:slo_burn_rate", s.name, FormatSloDuration(w)), f);
      };
      if (i > 0) expr += "\nor\n";
      expr += fmt::format("(\n  {}\nand\n  {}", burn(c.long_window), burn(c.short_window));
      if (s.min_bad_events > 0) {  // the engine's low-traffic guard, on the long window
        const std::string lw = FormatSloDuration(c.long_window);
        expr += fmt::format("\nand\n  max without (window) ({} - {}) >= {}",
                            Sel("lookout:slo_events:increase", s.name, lw),
                            Sel("lookout:slo_good_events:increase", s.name, lw), s.min_bad_events);
      }
      expr += "\n)";
      if (i > 0) windows_text += ", ";
      windows_text += fmt::format("{} and {} above {}x", FormatSloDuration(c.long_window),
                                  FormatSloDuration(c.short_window), f);
    }
    Rule r{"LookoutSLOErrorBudgetBurn",
           true,
           expr,
           {{"severity", page ? "page" : "ticket"}, {"slo", s.name}},
           {}};
    for (const auto& kv : s.labels) r.labels.push_back(kv);
    r.annotations = {
        {"summary",
         "SLO {{ $labels.slo }} of {{ $labels.service }} is burning its error budget "
         "({{ $value | printf \"%.1f\" }}x)"},
        {"description",
         fmt::format(
             "Burn rate over {}{} (objective {}% over {}). {}", windows_text,
             s.min_bad_events > 0
                 ? fmt::format(", with at least {} bad events in the long window", s.min_bad_events)
                 : std::string(),
             FormatNumber(std::round(s.objective * 1e12) / 1e10), FormatSloDuration(s.period),
             s.description.empty() ? s.sli.description : s.description)},
        // The same runbook as the rules in alerts/ (alerts/runbook.md).
        {"runbook_url",
         "https://github.com/lookout/lookout/blob/main/alerts/"
         "runbook.md#lookoutsloerrorbudgetburn"},
    };
    fast.rules.push_back(std::move(r));
  }
  groups.push_back(std::move(fast));
  groups.push_back(std::move(period));
}

void PaymentRules(const PaymentsSpec& p, std::vector<Group>& groups) {
  const std::string by = By({}, p.group_by);
  static constexpr const char* kKinds[] = {"attempts", "successes", "declines", "errors"};
  Group fast{"lookout-payments", "", {}};
  Group period{"lookout-payments-period", p.period >= hours(24) ? "5m" : "", {}};
  for (const SloDuration w : p.Windows()) {
    const std::string win = FormatSloDuration(w);
    Group& g = w == p.period ? period : fast;
    const std::vector<std::pair<std::string, std::string>> wl = {{"window", win}};
    for (const char* k : kKinds) {
      g.rules.push_back({fmt::format("lookout:payment_{}:increase", k),
                         false,
                         fmt::format("{} (increase(lookout_payment_{}_total[{}]))", by, k, win),
                         wl,
                         {}});
    }
    for (const auto& [ratio, kind] :
         {std::pair{"success", "successes"}, std::pair{"decline", "declines"},
          std::pair{"error", "errors"}}) {
      g.rules.push_back({fmt::format("lookout:payment_{}_ratio", ratio),
                         false,
                         fmt::format("clamp_max(lookout:payment_{0}:increase{{window={1}}} / "
                                     "(lookout:payment_attempts:increase{{window={1}}} > 0), 1)",
                                     kind, Quote(win)),
                         wl,
                         {}});
    }
  }
  groups.push_back(std::move(fast));
  groups.push_back(std::move(period));
}

}  // namespace

std::string FormatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::string GenerateRules(const std::vector<SloSpec>& slos, const PaymentsSpec& payments) {
  std::vector<Group> groups;
  for (const auto& s : slos) SloRules(s, groups);
  if (payments.enabled) {
    if (payments.availability_slo) SloRules(payments.AvailabilitySlo(), groups);
    PaymentRules(payments, groups);
  }
  YAML::Emitter e;
  e.SetIndent(2);
  Emit(e, groups);
  return fmt::format(
      "# Generated by `lookout slo rules`: recording and alert rules equivalent to the lookout "
      "SLO engine,\n# computed from the event counters every agent exports (summed over nodes "
      "before dividing).\n{}\n",
      e.c_str());
}

}  // namespace lookout::slo
