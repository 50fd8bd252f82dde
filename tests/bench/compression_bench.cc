// gzip of one export batch, as the span exporter compresses it: lookout's Gzip (libdeflate,
// level 1) against zlib at level 1 (what lookout used before) and at level 6 (what gRPC's own
// message compression uses: zlib's Z_DEFAULT_COMPRESSION), in the same run; and decompression of
// a request body (lookout's Inflate against zlib's inflate). The batch is built like
// trace_bench.py's requests: 8,192 spans (the default max_batch_spans), 10 attributes each, 4
// services, 8 routes, random trace/span IDs and one random attribute per span (incompressible,
// as in real traffic).
// Counters: items_per_second = spans per CPU-second; ratio = input / output bytes.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "agent/common/compression.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/unit/zlib_peer.h"

namespace {

namespace pbt = opentelemetry::proto::collector::trace::v1;
constexpr int kSpans = 8192;

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

const std::string& Batch() {
  static const std::string kBatch = [] {
    std::mt19937_64 rng(7);
    pbt::ExportTraceServiceRequest req;
    for (int svc = 0; svc < 4; ++svc) {
      auto* rs = req.add_resource_spans();
      for (const auto& [k, v] :
           {std::pair<std::string, std::string>{"service.name", "svc-" + std::to_string(svc)},
            {"host.name", "bench"}}) {
        auto* a = rs->mutable_resource()->add_attributes();
        a->set_key(k);
        a->mutable_value()->set_string_value(v);
      }
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("bench");
      for (int i = svc; i < kSpans; i += 4) {
        auto* span = ss->add_spans();
        span->set_trace_id(RandomBytes(rng, 16));
        span->set_span_id(RandomBytes(rng, 8));
        span->set_parent_span_id(RandomBytes(rng, 8));
        span->set_name("GET /api/v1/r" + std::to_string(i % 8));
        span->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
        span->set_start_time_unix_nano(1'700'000'000'000'000'000ULL);
        span->set_end_time_unix_nano(1'700'000'000'000'000'000ULL + (i % 50) * 1'000'000ULL);
        char id[17];
        std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(rng()));
        for (const auto& [k, v] :
             {std::pair<std::string, std::string>{"http.method", i % 3 ? "GET" : "POST"},
              {"http.route", "/api/v1/r" + std::to_string(i % 8)},
              {"http.status_code", "200"},
              {"net.peer.name", "backend.shop.svc"},
              {"net.peer.port", "8080"},
              {"user_agent.original", "bench/1.0"},
              {"component", "http"},
              {"tenant", "t" + std::to_string(i % 5)},
              {"region", "eu-west-1"},
              {"request.id", id}}) {
          auto* a = span->add_attributes();
          a->set_key(k);
          a->mutable_value()->set_string_value(v);
        }
      }
    }
    return req.SerializeAsString();
  }();
  return kBatch;
}

void Report(benchmark::State& state, size_t in, size_t out) {
  state.SetItemsProcessed(state.iterations() * kSpans);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in));
  state.counters["ratio"] = static_cast<double>(in) / static_cast<double>(out);
  state.counters["batch_bytes"] = static_cast<double>(in);
}

void BM_GzipLookout(benchmark::State& state) {
  const std::string& in = Batch();
  size_t out = 0;
  for (auto _ : state) {
    auto z = lookout::Gzip(in, static_cast<int>(state.range(0)));
    out = z->size();
    benchmark::DoNotOptimize(z);
  }
  Report(state, in.size(), out);
}
BENCHMARK(BM_GzipLookout)->Arg(1)->Arg(6);

void BM_GzipZlib(benchmark::State& state) {
  const std::string& in = Batch();
  size_t out = 0;
  for (auto _ : state) {
    auto z = lookout::testing::ZlibDeflate(in, static_cast<int>(state.range(0)), 15 + 16);
    out = z->size();
    benchmark::DoNotOptimize(z);
  }
  Report(state, in.size(), out);
}
BENCHMARK(BM_GzipZlib)->Arg(1)->Arg(6);

void BM_InflateLookout(benchmark::State& state) {
  const std::string gz = lookout::testing::ZlibDeflate(Batch(), 6, 15 + 16).value();
  for (auto _ : state) benchmark::DoNotOptimize(lookout::Inflate(gz, 64 << 20));
  Report(state, Batch().size(), gz.size());
}
BENCHMARK(BM_InflateLookout);

void BM_InflateZlib(benchmark::State& state) {
  const std::string gz = lookout::testing::ZlibDeflate(Batch(), 6, 15 + 16).value();
  for (auto _ : state) {
    auto out = lookout::testing::ZlibInflate(gz, 15 + 16, Batch().size());
    if (!out) state.SkipWithError("zlib could not inflate the batch");
    benchmark::DoNotOptimize(out);
  }
  Report(state, Batch().size(), gz.size());
}
BENCHMARK(BM_InflateZlib);

}  // namespace

BENCHMARK_MAIN();
