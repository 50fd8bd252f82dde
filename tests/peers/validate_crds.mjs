// Validates custom resources against their CRDs' OpenAPI schemas, as compiled (ajv) by
// @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule, ...) and
// @kubernetes-models/keda (ScaledObject, ...): types, enums, required fields. Also autoscaling/v2
// (the HPA example) by kubernetes-models' Kubernetes API schemas: Debian's python3-kubernetes
// predates autoscaling/v2. Reads a JSON array of objects on stdin; prints one line per problem
// and exits 1 if there is any.
import * as v1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as keda from "@kubernetes-models/keda/keda.sh/v1alpha1";
import * as autoscalingV2 from "kubernetes-models/autoscaling/v2";

const models = {
  "monitoring.coreos.com/v1": v1,
  "keda.sh/v1alpha1": keda,
  "autoscaling/v2": autoscalingV2,
};

const input = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (c) => (s += c));
  process.stdin.on("end", () => resolve(s));
}));
let bad = 0;
for (const doc of input) {
  const Model = models[doc.apiVersion]?.[doc.kind];
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
