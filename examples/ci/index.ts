import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

// In CI the token and account come from the environment (CLOUDFLARE_API_TOKEN,
// CLOUDFLARE_ACCOUNT_ID); the secret values from the stack's encrypted config.
const cfg = new pulumi.Config();

const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });

const webhookSecret = new StoreSecret("webhook-signing", {
  storeId: store.id,
  name: "webhook_signing_secret",
  value: cfg.requireSecret("webhookSecret"),
  scopes: ["workers"],
  comment: "Managed by CI: change it by pull request",
});

new WorkerSecretBinding("webhooks-signing", {
  scriptName: cfg.get("workerName") ?? "webhooks",
  bindingName: "WEBHOOK_SECRET",
  storeId: store.id,
  secretName: webhookSecret.name,
});

export const webhookSecretId = webhookSecret.id;
export const webhookSecretVersion = webhookSecret.valueVersion;
