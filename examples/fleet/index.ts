import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding } from "pulumi-cloudflare-secrets-store";

// One stack per account: the account comes from this stack's config
// (`cloudflare-secrets-store:accountId`, set by rotate.ts), the token and the API URL from the
// environment (CLOUDFLARE_API_TOKEN, CLOUDFLARE_API_BASE_URL), and the value from FLEET_SECRET,
// which the provider reads itself: the value is never in the program, the config or the state.
const cfg = new pulumi.Config();

const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });

const shared = new StoreSecret("shared", {
  storeId: store.id,
  name: cfg.get("secretName") ?? "shared_api_key",
  valueFrom: { env: "FLEET_SECRET" },
  scopes: ["workers"],
  comment: "Rotated across the fleet by examples/fleet/rotate.ts",
});

new WorkerSecretBinding("app-shared", {
  scriptName: cfg.get("workerName") ?? "app",
  bindingName: cfg.get("bindingName") ?? "SHARED_API_KEY",
  storeId: store.id,
  secretName: shared.name,
});

export const secretId = shared.id;
export const valueVersion = shared.valueVersion;
