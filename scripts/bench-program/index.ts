import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const count = cfg.requireNumber("count");
const generation = cfg.require("generation");

const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });
for (let i = 0; i < count; i++) {
  const secret = new StoreSecret(`secret-${i}`, {
    storeId: store.id,
    name: `bench_secret_${i}`,
    value: pulumi.secret(`bench-value-${i}-${generation}`),
    scopes: ["workers"],
  });
  new WorkerSecretBinding(`binding-${i}`, { scriptName: "bench-worker", bindingName: `SECRET_${i}`, storeId: store.id, secretName: secret.name });
}
