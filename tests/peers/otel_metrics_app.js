// An application instrumented with the OpenTelemetry JS metrics SDK, exporting OTLP to lookout:
// a counter, an up-down counter, a histogram (explicit buckets) and an observable gauge, with
// fixed values recorded over two export cycles. Run once per protocol and temporality; the
// integration test checks lookout's /metrics against the values below.
// Usage: node otel_metrics_app.js http-json|http-proto|grpc cumulative|delta ENDPOINT SERVICE
'use strict';
const { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } =
  require('@opentelemetry/sdk-metrics');
const { Resource } = require('@opentelemetry/resources');

const [protocol, temporality, endpoint, service] = process.argv.slice(2);
const pkg = {
  'http-json': '@opentelemetry/exporter-metrics-otlp-http',
  'http-proto': '@opentelemetry/exporter-metrics-otlp-proto',
  'grpc': '@opentelemetry/exporter-metrics-otlp-grpc',
}[protocol];
const { OTLPMetricExporter } = require(pkg);
const exporter = new OTLPMetricExporter({
  url: protocol === 'grpc' ? endpoint : endpoint + '/v1/metrics',
  temporalityPreference: temporality === 'delta' ? AggregationTemporality.DELTA
                                                 : AggregationTemporality.CUMULATIVE,
  ...(protocol === 'grpc' ? { credentials: require('@grpc/grpc-js').credentials.createInsecure() } : {}),
});
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
const provider = new MeterProvider({
  resource: new Resource({
    'service.name': service, 'service.namespace': 'shop', 'service.instance.id': 'i-1',
    'deployment.environment': 'test',
  }),
  readers: [reader],
  views: [],
});
const meter = provider.getMeter('lookout-it', '1.2.3');
const orders = meter.createCounter('shop.orders', { unit: '{order}', description: 'Orders.' });
const queue = meter.createUpDownCounter('shop.queue.depth', { description: 'Queue depth.' });
const latency = meter.createHistogram('shop.latency', {
  unit: 'ms', description: 'Latency.', advice: { explicitBucketBoundaries: [10, 100] },
});
meter.createObservableGauge('shop.temperature', { unit: 'Cel' })
  .addCallback((r) => r.observe(21.5, { room: 'a' }));

(async () => {
  orders.add(3, { method: 'card' });
  queue.add(5);
  for (const v of [5, 50, 500]) latency.record(v, { route: '/pay' });
  await reader.forceFlush();
  orders.add(4, { method: 'card' });
  orders.add(1, { method: 'wallet' });
  queue.add(-2);
  latency.record(20, { route: '/pay' });
  await reader.forceFlush();
  await provider.shutdown();
  console.log('exported');
})().catch((e) => { console.error(e); process.exit(1); });
