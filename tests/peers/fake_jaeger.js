// Stands in for Jaeger's OTLP ingest in the trace tests: an OTLP/gRPC TraceService (real
// @grpc/grpc-js server) and OTLP/HTTP /v1/traces (protobuf, gzip), recording every span it is
// given. The bytes are decoded with a small protobuf wire reader written from trace.proto's
// field numbers, so nothing in the agent's code is reused to check the agent.
//
// Control endpoint (HTTP, CONTROL_PORT):
//   GET  /spans        -> JSON {count, unique, duplicates, spans:[{traceId, spanId, name,
//                         resource:{...}, attributes:{...}}]}   (?summary=1 leaves spans out)
//   POST /mode?m=ok|unavailable|http503|http429|partial|down   (down closes the listeners)
//   POST /mode?m=slow&ms=N   accepts, answering each gRPC export N ms late (a slow backend)
// Usage: node fake_jaeger.js GRPC_PORT HTTP_PORT CONTROL_PORT
'use strict';
const grpc = require('@grpc/grpc-js');
const http = require('http');
const zlib = require('zlib');

const [grpcPort, httpPort, controlPort] = process.argv.slice(2).map(Number);
let mode = 'ok';
let slowMs = 0;
const seen = new Map();  // traceId:spanId -> span
let received = 0;

function readVarint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v, pos];
    shift += 7n;
  }
}
function* fields(buf) {
  let pos = 0;
  while (pos < buf.length) {
    let tag;
    [tag, pos] = readVarint(buf, pos);
    const num = Number(tag >> 3n), type = Number(tag & 7n);
    if (type === 0) { let v; [v, pos] = readVarint(buf, pos); yield [num, v]; }
    else if (type === 1) { yield [num, buf.subarray(pos, pos + 8)]; pos += 8; }
    else if (type === 5) { yield [num, buf.subarray(pos, pos + 4)]; pos += 4; }
    else if (type === 2) {
      let len; [len, pos] = readVarint(buf, pos); len = Number(len);
      yield [num, buf.subarray(pos, pos + len)]; pos += len;
    } else throw new Error('bad wire type ' + type);
  }
}
function anyValue(buf) {
  for (const [n, v] of fields(buf)) {
    if (n === 1) return v.toString('utf8');
    if (n === 2 || n === 3) return String(v);
    if (n === 4) return v.readDoubleLE(0);
  }
  return null;
}
function attributes(list) {
  const out = {};
  for (const kv of list) {
    let k = null, val = null;
    for (const [n, v] of fields(kv)) {
      if (n === 1) k = v.toString('utf8');
      if (n === 2) val = anyValue(v);
    }
    out[k] = val;
  }
  return out;
}
function record(body) {
  let n = 0;
  for (const [f, rs] of fields(body)) {
    if (f !== 1) continue;
    const resAttrs = [];
    const scopes = [];
    for (const [g, v] of fields(rs)) {
      if (g === 1) for (const [h, kv] of fields(v)) if (h === 1) resAttrs.push(kv);
      if (g === 2) scopes.push(v);
    }
    const resource = attributes(resAttrs);
    for (const scope of scopes) {
      for (const [g, span] of fields(scope)) {
        if (g !== 2) continue;
        const s = { resource, attrs: [] };
        for (const [h, v] of fields(span)) {
          if (h === 1) s.traceId = v.toString('hex');
          if (h === 2) s.spanId = v.toString('hex');
          if (h === 5) s.name = v.toString('utf8');
          if (h === 9) s.attrs.push(v);
        }
        s.attributes = attributes(s.attrs);
        delete s.attrs;
        const key = s.traceId + ':' + s.spanId;
        s.copies = (seen.get(key)?.copies || 0) + 1;
        seen.set(key, s);
        n++;
      }
    }
  }
  received += n;
  return n;
}
function partialResponse(rejected) {
  // ExportTraceServiceResponse{partial_success{rejected_spans, error_message}}
  const msg = Buffer.from('rejected by fake jaeger');
  const inner = Buffer.concat([Buffer.from([0x08, rejected]), Buffer.from([0x12, msg.length]), msg]);
  return Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
}

let grpcServer = null, httpServer = null;
function startGrpc() {
  grpcServer = new grpc.Server();
  const id = (x) => x;
  grpcServer.addService({
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false, responseStream: false,
      requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
    },
  }, {
    Export: (call, cb) => {
      if (mode === 'unavailable') return cb({ code: grpc.status.UNAVAILABLE, details: 'fake outage' });
      if (mode === 'invalid') return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'fake bad request' });
      record(call.request);
      const answer = () => cb(null, mode === 'partial' ? partialResponse(1) : Buffer.alloc(0));
      if (mode === 'slow') return setTimeout(answer, slowMs);
      answer();
    },
  });
  grpcServer.bindAsync('127.0.0.1:' + grpcPort, grpc.ServerCredentials.createInsecure(), () => grpcServer.start());
}
function startHttp() {
  httpServer = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (mode === 'http503' || mode === 'unavailable') { res.writeHead(503, { 'Retry-After': '1' }); return res.end(); }
      if (mode === 'http429') { res.writeHead(429, { 'Retry-After': '1' }); return res.end(); }
      if (mode === 'invalid') { res.writeHead(400); return res.end(); }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      record(body);
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
      res.end(mode === 'partial' ? partialResponse(1) : Buffer.alloc(0));
    });
  });
  httpServer.listen(httpPort, '127.0.0.1');
}
function stopAll() {
  if (grpcServer) { grpcServer.forceShutdown(); grpcServer = null; }
  if (httpServer) { httpServer.closeAllConnections?.(); httpServer.close(); httpServer = null; }
}
startGrpc();
startHttp();

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/spans') {
    const spans = [...seen.values()];
    const duplicates = spans.filter((s) => s.copies > 1).length;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({
      count: received, unique: seen.size, duplicates,
      spans: url.searchParams.get('summary') ? undefined : spans,
    }));
  }
  if (url.pathname === '/mode') {
    const m = url.searchParams.get('m');
    if (m === 'down') stopAll();
    else { if (!grpcServer) startGrpc(); if (!httpServer) startHttp(); }
    mode = m === 'down' ? mode : m;
    slowMs = Number(url.searchParams.get('ms') || 0);
    res.writeHead(200);
    return res.end(m);
  }
  res.writeHead(404);
  res.end();
}).listen(controlPort, '127.0.0.1');
