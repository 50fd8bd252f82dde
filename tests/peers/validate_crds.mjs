// Validates prometheus-operator custom resources (ServiceMonitor, PrometheusRule, ...) against
// the CRDs' OpenAPI schemas, as compiled by @kubernetes-models/prometheus-operator (ajv): types,
// enums, required fields. Reads a JSON array of objects on stdin; prints one line per problem
// and exits 1 if there is any.
import * as v1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const input = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (c) => (s += c));
  process.stdin.on("end", () => resolve(s));
}));
let bad = 0;
for (const doc of input) {
  const Model = doc.apiVersion === "monitoring.coreos.com/v1" ? v1[doc.kind] : undefined;
  const where = `${doc.kind}/${doc.metadata?.name}`;
  if (!Model) {
    console.log(`${where}: no schema for ${doc.apiVersion} ${doc.kind}`);
    bad++;
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    console.log(`${where}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
