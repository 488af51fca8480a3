import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding, type SecretScope } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const scriptName = cfg.get("workerName") ?? "api-worker";
// Turn the fallback off (and back on) from config, as a reviewed change.
const keepPrevious = cfg.getBoolean("keepPrevious") ?? true;

const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });

// When `stripeKey` changes, the provider first copies the live key to `stripe_api_key_previous_v<n>`
// (Cloudflare copies it; nobody reads it), then writes the new key.
const stripe = new StoreSecret("stripe", {
  storeId: store.id,
  name: cfg.get("secretName") ?? "stripe_api_key",
  value: cfg.requireSecret("stripeKey"),
  scopes: (cfg.getObject<string[]>("scopes") ?? ["workers"]) as SecretScope[],
  comment: "Stripe live key",
  rotation: { keepPrevious },
});

// The Worker tries STRIPE_KEY first and falls back to STRIPE_KEY_PREVIOUS while Stripe rolls the key.
new WorkerSecretBinding("stripe-current", {
  scriptName,
  bindingName: "STRIPE_KEY",
  storeId: store.id,
  secretName: stripe.name,
});

if (keepPrevious) {
  new WorkerSecretBinding("stripe-previous", {
    scriptName,
    bindingName: "STRIPE_KEY_PREVIOUS",
    storeId: store.id,
    secretName: stripe.previousName.apply((name) => name ?? ""),
  });
}

export const stripeSecretId = stripe.id;
/** Goes up by one on every rotation (and on a rollback, which is a rotation too). */
export const stripeValueVersion = stripe.valueVersion;
export const stripePreviousName = stripe.previousName;
