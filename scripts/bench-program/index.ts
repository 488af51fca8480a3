import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding, WorkerSecretBindings } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const count = cfg.requireNumber("count");
const workers = cfg.getNumber("workers") ?? 1;
const generation = cfg.require("generation");
// "per-worker": one WorkerSecretBindings per Worker; "per-binding": one WorkerSecretBinding each.
const shape = cfg.get("shape") ?? "per-worker";

const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });
const byWorker: Array<Record<string, pulumi.Output<string>>> = Array.from({ length: workers }, () => ({}));
for (let i = 0; i < count; i++) {
  const secret = new StoreSecret(`secret-${i}`, {
    storeId: store.id,
    name: `bench_secret_${i}`,
    value: pulumi.secret(`bench-value-${i}-${generation}`),
    scopes: ["workers"],
  });
  if (shape === "per-binding") {
    new WorkerSecretBinding(`binding-${i}`, {
      scriptName: `bench-worker-${i % workers}`,
      bindingName: `SECRET_${i}`,
      storeId: store.id,
      secretName: secret.name,
    });
  } else {
    const bindings = byWorker[i % workers];
    if (!bindings) throw new Error(`config workers must be a whole number of at least 1 (got ${workers})`);
    bindings[`SECRET_${i}`] = secret.name;
  }
}
if (shape !== "per-binding") {
  byWorker.forEach((bindings, w) => new WorkerSecretBindings(`bindings-${w}`, { scriptName: `bench-worker-${w}`, storeId: store.id, bindings }));
}
