import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

// In CI the token and account come from the environment (CLOUDFLARE_API_TOKEN,
// CLOUDFLARE_ACCOUNT_ID), and so does the secret value: the provider reads WEBHOOK_SECRET itself,
// so neither the value nor the token is ever in the program, the stack config or the state.
const cfg = new pulumi.Config();

const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });

const webhookSecret = new StoreSecret("webhook-signing", {
  storeId: store.id,
  name: "webhook_signing_secret",
  valueFrom: { env: "WEBHOOK_SECRET" },
  scopes: ["workers"],
  comment: "Managed by CI: rotate it in the CI secret store",
});

new WorkerSecretBinding("webhooks-signing", {
  scriptName: cfg.get("workerName") ?? "webhooks",
  bindingName: "WEBHOOK_SECRET",
  storeId: store.id,
  secretName: webhookSecret.name,
});

export const webhookSecretId = webhookSecret.id;
export const webhookSecretVersion = webhookSecret.valueVersion;
