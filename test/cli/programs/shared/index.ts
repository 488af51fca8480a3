import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const prefix = cfg.require("prefix");
const count = cfg.requireNumber("count");
const generation = cfg.get("generation") ?? "1";
const workers = (cfg.get("workers") ?? "").split(",").filter((w) => w !== "");

// Every stack declares the account's one store the same way: adopted, so destroy releases it.
const store = new SecretsStore("store", { name: "default_secrets_store", adopt: true });
for (let i = 0; i < count; i++) {
  const secret = new StoreSecret(`secret-${i}`, {
    storeId: store.id,
    name: `${prefix}_${i}`,
    value: pulumi.secret(`${prefix}-value-${i}-${generation}`),
    scopes: ["workers"],
  });
  const worker = workers[i % Math.max(1, workers.length)];
  if (worker)
    new WorkerSecretBinding(`binding-${i}`, { scriptName: worker, bindingName: `${prefix.toUpperCase()}_${i}`, storeId: store.id, secretName: secret.name });
}
