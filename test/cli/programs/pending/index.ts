import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding, WorkerSecretBindings } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();

const store = new SecretsStore("store", { name: "default_secrets_store", adopt: true });

// Created and bound in one run; rotated with a fallback binding to the copy; renamed.
const api = new StoreSecret("api", {
  storeId: store.id,
  name: cfg.get("apiName") ?? "api_key",
  value: cfg.requireSecret("apiValue"),
  scopes: ["workers"],
  rotation: { keepPrevious: true },
});
new WorkerSecretBinding("api-binding", { scriptName: "api-worker", bindingName: "API_KEY", storeId: store.id, secretName: api.name });
new WorkerSecretBinding("api-fallback", {
  scriptName: "api-worker",
  bindingName: "API_KEY_PREVIOUS",
  storeId: store.id,
  secretName: api.previousName.apply((n) => n ?? ""),
});

// A copy made by Cloudflare, and a secret taken over while it is still pending, bound per Worker.
const copy = new StoreSecret("copy", { storeId: store.id, name: "api_key_copy", duplicateOf: { secretId: api.id }, scopes: ["workers"] });
const adopted = new StoreSecret("adopted", { storeId: store.id, name: "adopted_key", adopt: true, scopes: ["workers"] });
new WorkerSecretBindings("shop-bindings", {
  scriptName: "shop-worker",
  storeId: store.id,
  bindings: { API_KEY_COPY: copy.name, ADOPTED_KEY: adopted.name },
});

export const apiId = api.id;
export const copyId = copy.id;
export const adoptedId = adopted.id;
export const previousId = api.previousId;
