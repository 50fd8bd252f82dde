#include "lookout/metrics/relabel.h"

#include <locale.h>  // NOLINT(modernize-deprecated-headers): newlocale (POSIX 2008)
#include <openssl/evp.h>
#include <re2/re2.h>
#include <wctype.h>  // NOLINT(modernize-deprecated-headers): towlower_l, iswalnum_l (POSIX)

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

#include "agent/common/pattern.h"

namespace lookout {

namespace {

constexpr std::array<const char*, 11> kActionNames = {
    "replace",  "keep",      "drop",      "keepequal", "dropequal", "hashmod",
    "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase"};

// The C.UTF-8 locale, for wide-character case mapping and classes without touching the
// process's locale.
locale_t Utf8Locale() {
  static const locale_t kLocale =
      newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return kLocale;
}

// One UTF-8 rune at s[i] (valid input: label values are checked as UTF-8 when parsed).
// Returns its length; `cp` the code point, U+FFFD for a malformed byte (length 1).
size_t DecodeRune(std::string_view s, size_t i, char32_t& cp) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    cp = 0xFFFD;
    return 1;
  }
  if (n == 1) {
    cp = b;
    return 1;
  }
  cp = b & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c >> 6) != 2) {
      cp = 0xFFFD;
      return 1;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  return n;
}

void EncodeRune(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// strings.ToLower / ToUpper: rune by rune, simple case mapping.
std::string MapCase(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  const locale_t loc = Utf8Locale();
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out += static_cast<char>(upper ? (b >= 'a' && b <= 'z' ? b - 32 : b)
                                     : (b >= 'A' && b <= 'Z' ? b + 32 : b));
      ++i;
      continue;
    }
    char32_t cp = 0;
    i += DecodeRune(s, i, cp);
    if (loc != static_cast<locale_t>(nullptr)) {
      const auto w = static_cast<wint_t>(cp);
      cp = static_cast<char32_t>(upper ? towupper_l(w, loc) : towlower_l(w, loc));
    }
    EncodeRune(cp, out);
  }
  return out;
}

// Go's unicode.IsLetter || unicode.IsDigit || '_' for the rune at s[i] (regexp's extract()).
size_t NameRune(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    const bool ok =
        (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
    return ok ? 1 : 0;
  }
  char32_t cp = 0;
  const size_t n = DecodeRune(s, i, cp);
  if (cp == 0xFFFD) return 0;
  // Go's unicode.IsLetter (category L) and IsDigit (Nd) exactly, not iswalnum (which also takes
  // letter numbers such as U+2160 and combining marks).
  static const RE2 kLetterOrDigit(R"([\pL\p{Nd}])");
  return RE2::FullMatch(re2::StringPiece(s.data() + i, n), kLetterOrDigit) ? n : 0;
}

// The labels a rule reads and writes: Prometheus's labels.Builder over a sorted vector.
class LabelSet {
 public:
  explicit LabelSet(Labels& l) : l_(l) {}
  std::string_view Get(std::string_view name) const {
    auto it = Find(name);
    return it != l_.end() && it->name == name ? std::string_view(it->value) : std::string_view();
  }
  void Set(std::string_view name, std::string_view value) {
    if (value.empty()) {
      Del(name);
      return;
    }
    auto it = Find(name);
    if (it != l_.end() && it->name == name) {
      it->value.assign(value);
    } else {
      l_.insert(it, Label{std::string(name), std::string(value)});
    }
  }
  void Del(std::string_view name) {
    auto it = Find(name);
    if (it != l_.end() && it->name == name) l_.erase(it);
  }

 private:
  Labels::iterator Find(std::string_view name) const {
    return std::lower_bound(l_.begin(), l_.end(), name,
                            [](const Label& a, std::string_view n) { return a.name < n; });
  }
  Labels& l_;
};

}  // namespace

std::optional<RelabelAction> ParseRelabelAction(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (lower == kActionNames[i]) return static_cast<RelabelAction>(i);
  }
  return std::nullopt;
}

const char* RelabelActionName(RelabelAction a) { return kActionNames[static_cast<size_t>(a)]; }

struct Relabeler::Rule {
  RelabelConfig c;
  std::unique_ptr<RE2> re;  // ^(?:regex)$
  int groups = 0;
  std::map<std::string, int> named;

  // Go's Regexp.ExpandString: `tmpl` with $n, ${n}, $name, ${name} replaced by the submatches of
  // `src` (`m`: groups + 1 of them, empty data() when a group did not take part), $$ by $; a $
  // that starts no valid reference stays as it is.
  std::string Expand(std::string_view tmpl, const std::vector<re2::StringPiece>& m) const {
    std::string out;
    while (!tmpl.empty()) {
      const size_t dollar = tmpl.find('$');
      if (dollar == std::string_view::npos) break;
      out.append(tmpl.substr(0, dollar));
      tmpl.remove_prefix(dollar + 1);
      if (!tmpl.empty() && tmpl[0] == '$') {
        out += '$';
        tmpl.remove_prefix(1);
        continue;
      }
      // extract(): an optional brace, a non-empty name of letters, digits and '_'.
      std::string_view rest = tmpl;
      const bool brace = !rest.empty() && rest[0] == '{';
      if (brace) rest.remove_prefix(1);
      size_t i = 0;
      while (i < rest.size()) {
        const size_t n = NameRune(rest, i);
        if (n == 0) break;
        i += n;
      }
      if (i == 0 || (brace && (i >= rest.size() || rest[i] != '}'))) {
        out += '$';  // malformed: the $ is text
        continue;
      }
      const std::string_view name = rest.substr(0, i);
      tmpl = rest.substr(i + (brace ? 1 : 0));
      int num = 0;
      for (char ch : name) {
        if (ch < '0' || ch > '9' || num >= 100000000) {
          num = -1;
          break;
        }
        num = num * 10 + (ch - '0');
      }
      if (name.size() > 1 && name[0] == '0') num = -1;  // no leading zeros
      if (num < 0) {
        auto it = named.find(std::string(name));
        if (it != named.end()) num = it->second;
      }
      if (num >= 0 && num < static_cast<int>(m.size()) && m[num].data() != nullptr) {
        out.append(m[num].data(), m[num].size());
      }
    }
    out.append(tmpl);
    return out;
  }

  bool Match(std::string_view s) const { return RE2::PartialMatch(s, *re); }

  // The submatches of `s` (groups + 1), or false when it does not match.
  bool Submatch(std::string_view s, std::vector<re2::StringPiece>& m) const {
    m.assign(static_cast<size_t>(groups) + 1, re2::StringPiece());
    return re->Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), RE2::UNANCHORED, m.data(),
                     static_cast<int>(m.size()));
  }
};

Result<Relabeler> Relabeler::Make(std::vector<RelabelConfig> configs) {
  Relabeler r;
  for (size_t i = 0; i < configs.size(); ++i) {
    auto rule = std::make_shared<Rule>();
    rule->c = std::move(configs[i]);
    const RelabelConfig& c = rule->c;
    const std::string act = RelabelActionName(c.action);
    auto fail = [&](const std::string& what) {
      return MakeError("relabel", "rule " + std::to_string(i) + ": " + what);
    };
    using A = RelabelAction;
    for (const auto& s : c.source_labels) {
      // "" is what a null item reads as (Prometheus takes it too: it reads no label).
      if (!s.empty() && !IsModelLabelName(s)) {
        return fail("\"" + s + "\" is not a valid label name");
      }
    }
    rule->re = std::make_unique<RE2>("^(?:" + c.regex + ")$", GoRegexOptions());
    if (!rule->re->ok()) {
      return fail("error parsing regexp \"" + c.regex + "\": " + rule->re->error());
    }
    rule->groups = rule->re->NumberOfCapturingGroups();
    rule->named = rule->re->NamedCapturingGroups();
    const bool needs_target = c.action == A::kReplace || c.action == A::kHashMod ||
                              c.action == A::kLowercase || c.action == A::kUppercase ||
                              c.action == A::kKeepEqual || c.action == A::kDropEqual;
    if (c.action == A::kHashMod && c.modulus == 0) {
      return fail("relabel configuration for hashmod requires non-zero modulus");
    }
    if (needs_target && c.target_label.empty()) {
      return fail("relabel configuration for " + act + " action requires 'target_label' value");
    }
    // relabelTarget: label-name characters with $n / ${n} references in between.
    static const RE2 kTarget(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
    const bool template_ok = RE2::FullMatch(c.target_label, kTarget);
    if (c.action == A::kReplace && !template_ok) {
      return fail("\"" + c.target_label + "\" is invalid 'target_label' for " + act + " action");
    }
    // 2.42 checks these four against the template pattern only (so "$1" passes, and is then a
    // label name that fails the scrape); hashmod's must be a label name.
    if ((c.action == A::kLowercase || c.action == A::kUppercase || c.action == A::kKeepEqual ||
         c.action == A::kDropEqual) &&
        !template_ok) {
      return fail("\"" + c.target_label + "\" is invalid 'target_label' for " + act + " action");
    }
    if (c.action == A::kHashMod && !IsModelLabelName(c.target_label)) {
      return fail("\"" + c.target_label + "\" is invalid 'target_label' for " + act + " action");
    }
    if ((c.action == A::kLowercase || c.action == A::kUppercase) &&
        c.replacement != RelabelConfig{}.replacement) {
      return fail("'replacement' can not be set for " + act + " action");
    }
    if (c.action == A::kLabelMap && !RE2::FullMatch(c.replacement, kTarget)) {
      return fail("\"" + c.replacement + "\" is invalid 'replacement' for " + act + " action");
    }
    const RelabelConfig defaults;
    if ((c.action == A::kKeepEqual || c.action == A::kDropEqual) &&
        (c.regex_set || c.modulus != 0 || c.separator != defaults.separator ||
         c.replacement != defaults.replacement)) {
      return fail(act + " action requires only 'source_labels' and `target_label`, and no other " +
                  "fields");
    }
    if ((c.action == A::kLabelDrop || c.action == A::kLabelKeep) &&
        (c.source_labels_set || !c.target_label.empty() || c.modulus != 0 ||
         c.separator != defaults.separator || c.replacement != defaults.replacement)) {
      return fail(act + " action requires only 'regex', and no other fields");
    }
    r.rules_.push_back(std::move(rule));
  }
  return r;
}

bool Relabeler::Apply(Labels& labels) const {
  LabelSet lb(labels);
  std::string val;
  std::vector<re2::StringPiece> m;
  for (const auto& rp : rules_) {
    const Rule& rule = *rp;
    const RelabelConfig& c = rule.c;
    val.clear();
    for (size_t i = 0; i < c.source_labels.size(); ++i) {
      if (i > 0) val += c.separator;
      val += lb.Get(c.source_labels[i]);
    }
    switch (c.action) {
      case RelabelAction::kDrop:
        if (rule.Match(val)) return false;
        break;
      case RelabelAction::kKeep:
        if (!rule.Match(val)) return false;
        break;
      case RelabelAction::kDropEqual:
        if (lb.Get(c.target_label) == val) return false;
        break;
      case RelabelAction::kKeepEqual:
        if (lb.Get(c.target_label) != val) return false;
        break;
      case RelabelAction::kReplace: {
        if (!rule.Submatch(val, m)) break;  // no match, no replacement
        const std::string target = rule.Expand(c.target_label, m);
        if (!IsModelLabelName(target)) break;
        const std::string res = rule.Expand(c.replacement, m);
        if (res.empty()) {
          // Prometheus 2.42 deletes target_label as written, not as expanded: with a template
          // ("${1}") that deletes nothing.
          lb.Del(c.target_label);
        } else {
          lb.Set(target, res);
        }
        break;
      }
      case RelabelAction::kLowercase:
        lb.Set(c.target_label, MapCase(val, false));
        break;
      case RelabelAction::kUppercase:
        lb.Set(c.target_label, MapCase(val, true));
        break;
      case RelabelAction::kHashMod: {
        // md5 of the value; the modulus of its last 8 bytes read big-endian (Prometheus).
        std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
        unsigned int len = 0;
        EVP_Digest(val.data(), val.size(), md.data(), &len, EVP_md5(), nullptr);
        uint64_t h = 0;
        for (size_t k = 8; k < 16; ++k) h = (h << 8) | md[k];
        lb.Set(c.target_label, std::to_string(h % c.modulus));
        break;
      }
      case RelabelAction::kLabelMap: {
        // The labels as they were before this rule: Set() below inserts into `labels`.
        const Labels snapshot = labels;  // NOLINT(performance-unnecessary-copy-initialization)
        for (const auto& l : snapshot) {
          if (!rule.Submatch(l.name, m)) continue;
          // Set even when it is no valid label name, as Prometheus does (its scrape then fails
          // on it, and so does lookout's: exposition_parser.cc).
          lb.Set(rule.Expand(c.replacement, m), l.value);
        }
        break;
      }
      case RelabelAction::kLabelDrop:
        std::erase_if(labels, [&](const Label& l) { return rule.Match(l.name); });
        break;
      case RelabelAction::kLabelKeep:
        std::erase_if(labels, [&](const Label& l) { return !rule.Match(l.name); });
        break;
    }
  }
  return !labels.empty();
}

}  // namespace lookout
