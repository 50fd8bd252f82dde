// An HTTP service instrumented with prom-client the usual way: every request it serves counts in
// http_requests_total{method, code}, served on /metrics. The autoscaling test sends it requests
// at a known rate and compares lookout's recorded per-pod rate with it.
// Usage: node prom_client_http_app.js PORT
'use strict';
const http = require('http');
const client = require('prom-client');

const registry = new client.Registry();
const requests = new client.Counter({
  name: 'http_requests_total', help: 'HTTP requests served.', labelNames: ['method', 'code'],
  registers: [registry],
});

http.createServer(async (req, res) => {
  if (req.url === '/metrics') {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
    return;
  }
  requests.inc({ method: req.method, code: '200' });
  res.end('ok\n');
}).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'));
