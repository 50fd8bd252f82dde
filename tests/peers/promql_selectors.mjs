// Prints the vector selectors of PromQL expressions, as Prometheus's own parser grammar sees them
// (@prometheus-io/lezer-promql, the grammar Prometheus's UI uses, pinned to Prometheus 2.42's
// release). Reads a JSON list of expressions on stdin; writes a JSON list with, for each, either
// {"selectors": ["node_load1{job=\"node-exporter\"}", ...]} or {"error": "..."} where the
// expression does not parse. A matrix selector's inner vector selector is listed too.
import { parser } from '@prometheus-io/lezer-promql';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));

const out = input.map((expr) => {
  const tree = parser.parse(expr);
  const selectors = [];
  let error = null;
  tree.iterate({
    enter(node) {
      if (node.type.isError && error === null) {
        error = `syntax error at ${node.from}: ${JSON.stringify(expr.slice(node.from, node.from + 20))}`;
      }
    },
  });
  tree.iterate({
    enter(node) {
      if (node.name === 'VectorSelector') {
        selectors.push(expr.slice(node.from, node.to));
        return false;
      }
      return true;
    },
  });
  return error ? { error } : { selectors };
});
process.stdout.write(JSON.stringify(out));
