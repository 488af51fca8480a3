import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const keepPrevious = cfg.getBoolean("keepPrevious") ?? false;

const store = new SecretsStore("store", {
  name: "default_secrets_store",
  adopt: true,
  forceDestroy: cfg.getBoolean("forceDestroy") ?? false,
});

const secret = new StoreSecret(
  "secret",
  {
    storeId: store.id,
    name: "api_key",
    value: cfg.requireSecret("value"),
    scopes: ["workers"],
    adopt: cfg.getBoolean("adopt") ?? false,
    rotation: keepPrevious ? { keepPrevious: true } : undefined,
  },
  { ignoreChanges: cfg.getBoolean("ignoreValue") ? ["value"] : [] },
);

new WorkerSecretBinding("binding", {
  scriptName: "api-worker",
  bindingName: "API_KEY",
  storeId: store.id,
  secretName: secret.name,
});

export const storeId = store.id;
export const secretId = secret.id;
export const valueVersion = secret.valueVersion;
