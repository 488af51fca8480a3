import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const store = new SecretsStore("store", { name: "default_secrets_store", adopt: true });

const fromConfig = new StoreSecret("from-config", { storeId: store.id, name: "pin_config", value: cfg.requireSecret("pin"), scopes: ["workers"] });
const fromEnv = new StoreSecret("from-env", { storeId: store.id, name: "pin_env", valueFrom: { env: "PIN_FROM_ENV" }, scopes: ["workers"] });
const copy = new StoreSecret("copy", { storeId: store.id, name: "pin_copy", duplicateOf: { secretId: fromEnv.id }, scopes: ["workers"] });
new WorkerSecretBinding("pin-binding", { scriptName: "api-worker", bindingName: "PIN", storeId: store.id, secretName: fromEnv.name });

export const versions = { config: fromConfig.valueVersion, env: fromEnv.valueVersion, copy: copy.valueVersion };
