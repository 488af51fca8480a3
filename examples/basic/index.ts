import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const workerName = cfg.get("workerName") ?? "api-worker";

// Every account gets a store the first time someone opens Secrets Store: adopt it.
const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });

// The values come from secret stack config; Pulumi state never holds them.
const stripe = new StoreSecret("stripe", {
  storeId: store.id,
  name: "stripe_api_key",
  value: cfg.requireSecret("stripeKey"),
  scopes: ["workers"],
  comment: "Stripe live key",
});

const openai = new StoreSecret("openai", {
  storeId: store.id,
  name: "openai_api_key",
  value: cfg.requireSecret("openaiKey"),
  scopes: ["workers", "ai_gateway"],
  comment: "OpenAI key for Workers and AI Gateway",
});

// Bind the Stripe key into a Worker that something else deploys; its other bindings stay.
const stripeBinding = new WorkerSecretBinding("api-stripe", {
  scriptName: workerName,
  bindingName: "STRIPE_KEY",
  storeId: store.id,
  secretName: stripe.name,
});

export const storeId = store.id;
export const stripeSecretId = stripe.id;
export const openaiSecretId = openai.id;
/** Paste into the Worker's wrangler config (`secrets_store_secrets`) so `wrangler deploy` keeps the binding. */
export const wranglerSecretsStoreSecrets = [stripeBinding.wranglerConfig];
