#pragma once
// JSON for the whole agent: reading through simdjson's DOM API, and the one string-literal
// writer (AppendQuoted: JSON logs and logfmt quoting, the OTLP/JSON rewrite, attribute values).
//
// Reading is simdjson's DOM API (libsimdjson; SIMD kernels picked at run time for the CPU). It
// replaced our hand-written reader after tests/bench/pod_list_parse_bench.cc (see README,
// "JSON"): about 5x faster on a 110-pod PodList, 1.5-1.7x on 5,000 pods, half the resident
// memory; unlike simdjson On-Demand 3.0 it validates the whole document and enforces the depth
// limit itself, and unlike nlohmann::json it is faster than the reader was. This header only
// fixes how lookout uses it on untrusted input (the kubelet's /pods and the API server's
// PodList in agent/k8s, OTLP/JSON from any pod in agent/otlp), so every caller gets the same
// guarantees:
//
// - the whole document is validated: syntax, nothing after the top-level value, strings valid
//   UTF-8 after unescaping (unpaired surrogates are errors);
// - nesting deeper than ParseOptions::max_depth is an error (no recursion in the parser; the
//   OTLP/JSON callers pass 64, the PodList the default 128);
// - integers that fit are exact int64/uint64; Int64()/Uint64() also accept a string holding one,
//   as OTLP/JSON encodes 64-bit integers. An integer literal beyond 64 bits reads as a double
//   (as JSON and the proto3 JSON mapping say; JavaScript writes 2e19 as 20000000000000000000):
//   simdjson 3.0 refuses it, so on that error only it is re-parsed with such literals widened.
//   A number beyond double's range (1e400) is an error;
// - errors are Result errors with reason "json" and simdjson's message (simdjson reports no
//   byte offset). Input size is the caller's limit (it already holds the whole body).
//
// Parsed elements point into the parser: they live until the parser's next Parse or its end.
// A parser is not thread-safe; use one per thread (or per call, as the callers do).

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lookout/result.h"

namespace lookout::json {

using Element = simdjson::dom::element;
// An element or the error of getting it: lets lookups chain (v["a"]["b"]) and fail once.
using Lookup = simdjson::simdjson_result<Element>;

struct ParseOptions {
  size_t max_depth = 128;
};

Result<Element> Parse(simdjson::dom::parser& parser, std::string_view text,
                      const ParseOptions& options = {});

// Lenient reads for optional fields: a missing or wrongly typed value reads as empty.
std::string_view Str(Lookup v);            // "" unless a string
std::optional<int64_t> Int64(Lookup v);    // an integer number, or a string holding one
std::optional<uint64_t> Uint64(Lookup v);  // likewise
inline std::string_view Str(Element v) { return Str(Lookup(Element(v))); }
inline std::optional<int64_t> Int64(Element v) { return Int64(Lookup(Element(v))); }
inline std::optional<uint64_t> Uint64(Element v) { return Uint64(Lookup(Element(v))); }

// Appends `s` as a JSON string literal to `out`: quotes; \" \\ \n \r \t and \u00XX for the other
// control characters below 0x20; every other byte as it is (UTF-8 is not checked: invalid input
// stays invalid in the output).
void AppendQuoted(std::string& out, std::string_view s);

}  // namespace lookout::json
