#include "agent/slo/spec_parser.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "agent/common/file_util.h"
#include "agent/common/yaml_reader.h"
#include "agent/slo/spec_parser_internal.h"

namespace lookout::slo {
namespace detail {

double PercentToRatio(double percent) { return std::round(percent * 1e10) / 1e12; }

bool IsValidSloName(std::string_view n) {
  if (n.empty() || n.size() > 128) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

}  // namespace detail

bool IsReservedSloLabel(std::string_view n) {
  return n == "slo" || n == "service" || n == "window" || n == "severity" || n == "le" ||
         n == "quantile";
}

namespace {

constexpr size_t kMaxSpecFileBytes = 16 << 20;

// Collects SLOs from any number of documents, each in its format, then parses the OpenSLO
// SLOs (their indicatorRefs resolved); an SLO name may be defined once across all of them.
class SpecCollector {
 public:
  void AddDocument(const YAML::Node& doc, const std::string& file) {
    if (!doc.IsDefined() || doc.IsNull()) return;
    YamlMapReader r(doc, "", file);
    if (!doc.IsMap()) r.Fail(doc, "", "a mapping (lookout slos: or an OpenSLO document)");
    if (YAML::Node api = doc["apiVersion"]; api.IsDefined()) {
      if (!api.IsScalar() || api.Scalar() != "openslo/v1") {
        r.Fail(api, "apiVersion", "openslo/v1 (other OpenSLO versions are not supported)");
      }
      openslo_.Add(doc, file);
      return;
    }
    std::string version = "lookout/v1";
    r.Str("version", &version);
    if (version != "lookout/v1") r.Fail(r.Get("version"), "version", "lookout/v1");
    YAML::Node slos = r.Get("slos");
    r.Done();
    if (!slos.IsDefined() || slos.IsNull()) return;
    if (!slos.IsSequence()) r.Fail(slos, "slos", "a list of SLOs");
    for (size_t i = 0; i < slos.size(); ++i) {
      Add(detail::ParseLookoutSlo(slos[i], "slos[" + std::to_string(i) + "]", file), slos[i], file);
    }
  }

  std::vector<SloSpec> Finish() {
    for (const auto& [node, file] : openslo_.slos()) Add(openslo_.ParseSlo(node, file), node, file);
    return std::move(specs_);
  }

 private:
  void Add(SloSpec spec, const YAML::Node& at, const std::string& file) {
    if (!names_.insert(spec.name).second) {
      throw ConfigError(fmt::format("{}: SLO name \"{}\" is defined twice",
                                    YamlWhere(file, at.Mark()), spec.name));
    }
    spec.source = YamlWhere(file, at.Mark());
    specs_.push_back(std::move(spec));
  }

  std::vector<SloSpec> specs_;
  std::set<std::string> names_;
  detail::OpenSloDocuments openslo_;
};

// Counts documents without building nodes. yaml-cpp 0.7's LoadAll never returns on some
// malformed input (",x:" makes its parser yield empty documents forever without consuming
// anything; found by fuzz.slo_specs), so the documents are counted first, with a cap.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

constexpr size_t kMaxDocuments = 10000;

std::vector<YAML::Node> LoadDocuments(const std::string& text, const std::string& file) {
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    for (size_t docs = 0; parser.HandleNextDocument(counter);) {
      if (++docs > kMaxDocuments) {
        throw ConfigError(fmt::format(
            "{}: more than {} YAML documents (or input the YAML parser cannot get past)", file,
            kMaxDocuments));
      }
    }
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(YamlWhere(file, e.mark) + ": invalid YAML: " + e.msg);
  }
}

}  // namespace

std::vector<SloSpec> ParseSloSpecs(const std::string& yaml_text, const std::string& source_name) {
  SpecCollector c;
  for (const auto& doc : LoadDocuments(yaml_text, source_name)) c.AddDocument(doc, source_name);
  return c.Finish();
}

std::vector<SloSpec> LoadSloSpecs(const std::string& path) {
  std::vector<std::string> files;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path());
    }
    if (ec) throw ConfigError(path + ": cannot list SLO specs: " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  SpecCollector c;
  for (const auto& f : files) {
    auto text = ReadFileLimited(f, kMaxSpecFileBytes);
    if (!text.ok()) throw ConfigError(f + ": cannot read SLO specs: " + text.error().detail);
    for (const auto& doc : LoadDocuments(*text, f)) c.AddDocument(doc, f);
  }
  return c.Finish();
}

}  // namespace lookout::slo
