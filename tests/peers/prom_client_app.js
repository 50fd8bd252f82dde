// A small application instrumented with prom-client (the de-facto Node.js Prometheus client):
// counters, gauges, a histogram and a summary with fixed values, served on /metrics. The
// integration test scrapes it directly and through lookout and compares the two.
// Usage: node prom_client_app.js PORT
'use strict';
const http = require('http');
const client = require('prom-client');

const registry = new client.Registry();
const orders = new client.Counter({
  name: 'shop_orders_total', help: 'Orders placed.', labelNames: ['method', 'status'],
  registers: [registry],
});
const inflight = new client.Gauge({
  name: 'shop_inflight_requests', help: 'Requests in flight.', registers: [registry],
});
const latency = new client.Histogram({
  name: 'shop_request_duration_seconds', help: 'Request latency.',
  labelNames: ['route'], buckets: [0.005, 0.05, 0.25, 1, 2.5], registers: [registry],
});
const sizes = new client.Summary({
  name: 'shop_payload_bytes', help: 'Payload sizes "quoted" \\ escaped.',
  percentiles: [0.5, 0.9, 0.99], registers: [registry],
});

orders.inc({ method: 'card', status: 'ok' }, 41);
orders.inc({ method: 'card', status: 'declined' }, 3);
orders.inc({ method: 'wallet', status: 'ok' }, 1.5);
inflight.set(-2.25);
for (const v of [0.001, 0.02, 0.02, 0.3, 0.9, 3]) latency.observe({ route: '/pay' }, v);
latency.observe({ route: '/cart "x"\\y' }, 0.1);
for (let i = 1; i <= 100; i++) sizes.observe(i * 10);

http.createServer(async (req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  } else if (req.url === '/redirect-loop') {
    res.writeHead(302, { Location: '/redirect-loop' });
    res.end();
  } else {
    res.writeHead(404);
    res.end('not found\n');
  }
}).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'));
