// An application traced with the OpenTelemetry JS SDK (sdk-trace-base + an OTLP trace
// exporter), sending spans to lookout. Each span carries its own sequence number, so the test
// can check that every span arrives at the backend exactly once.
// Usage: node otel_trace_app.js http-json|http-proto|grpc ENDPOINT SERVICE COUNT [ERRORS_EVERY]
//        [SPREAD_MS]  (spreads the spans evenly over SPREAD_MS, on the clock: steady load)
// OTEL_RESOURCE_ATTRIBUTES adds resource attributes (the SDK's env detector), as a pod that sets
// k8s.pod.name from the downward API does.
// Prints one JSON line: {"sent": N, "failed": M, "traceIds": [...first 5...]}
'use strict';
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { Resource, envDetectorSync } = require('@opentelemetry/resources');
const { SpanKind, SpanStatusCode } = require('@opentelemetry/api');

const [protocol, endpoint, service, countArg, errorsEveryArg, spreadArg] = process.argv.slice(2);
const spreadMs = Number(spreadArg || 0);
const count = Number(countArg);
const errorsEvery = Number(errorsEveryArg || 0);
const pkg = {
  'http-json': '@opentelemetry/exporter-trace-otlp-http',
  'http-proto': '@opentelemetry/exporter-trace-otlp-proto',
  'grpc': '@opentelemetry/exporter-trace-otlp-grpc',
}[protocol];
const { OTLPTraceExporter } = require(pkg);
const exporter = new OTLPTraceExporter({
  url: protocol === 'grpc' ? endpoint : endpoint + '/v1/traces',
  ...(protocol === 'grpc' ? { credentials: require('@grpc/grpc-js').credentials.createInsecure() } : {}),
});
let failed = 0;
const wrapped = {
  export(spans, cb) {
    exporter.export(spans, (r) => { if (r.code !== 0) failed += spans.length; cb(r); });
  },
  shutdown() { return exporter.shutdown(); },
  forceFlush() { return exporter.forceFlush ? exporter.forceFlush() : Promise.resolve(); },
};
const provider = new BasicTracerProvider({
  resource: envDetectorSync.detect().merge(
    new Resource({ 'service.name': service, 'service.version': '1.0.0' })),
});
provider.addSpanProcessor(new BatchSpanProcessor(wrapped, {
  maxQueueSize: count + 10, maxExportBatchSize: 200, scheduledDelayMillis: 100,
}));
const tracer = provider.getTracer('lookout-it', '1.0.0');

(async () => {
  const traceIds = [];
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan(i % 2 ? 'GET /items' : 'POST /pay', {
      kind: SpanKind.SERVER,
      attributes: { 'seq': i, 'http.method': i % 2 ? 'GET' : 'POST', 'payment.provider': 'acme' },
    });
    if (errorsEvery && i % errorsEvery === 0) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    if (traceIds.length < 5) traceIds.push(span.spanContext().traceId);
    if (spreadMs > 0 && i % 10 === 9) {
      // Span i+1 is due at start + (i+1) x SPREAD_MS / COUNT: waiting for that time, not for a
      // fixed pause, keeps the rate exact however long the loop itself takes.
      const due = start + (i + 1) * spreadMs / count;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
  }
  await provider.forceFlush();
  await provider.shutdown();
  console.log(JSON.stringify({ sent: count, failed, traceIds }));
})();
