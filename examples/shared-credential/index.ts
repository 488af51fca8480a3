import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();

const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });

// One database credential, rotated in one place, used by three Workers.
const dbPassword = new StoreSecret("db-password", {
  storeId: store.id,
  name: "db_password",
  value: cfg.requireSecret("dbPassword"),
  scopes: ["workers"],
  comment: "Shared Postgres password",
});

// Each Worker reads it under the name its own code expects.
const consumers: Record<string, string> = {
  "api-worker": "DB_PASSWORD",
  "billing-worker": "DATABASE_PASSWORD",
  "cron-worker": "PG_PASSWORD",
};

export const bindings = Object.entries(consumers).map(
  ([scriptName, bindingName]) =>
    new WorkerSecretBinding(`${scriptName}-db`, {
      scriptName,
      bindingName,
      storeId: store.id,
      secretName: dbPassword.name,
    }).wranglerConfig,
);
export const secretId = dbPassword.id;
