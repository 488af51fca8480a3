import * as pulumi from "@pulumi/pulumi";
import { SecretsStore, StoreSecret, WorkerSecretBinding, type SecretScope, type SecretUse } from "pulumi-cloudflare-secrets-store";

const cfg = new pulumi.Config();
const keepPrevious = cfg.getBoolean("keepPrevious") ?? true;

const store = new SecretsStore("store", { name: "default_secrets_store", adopt: true });

export let boundBy: pulumi.Output<SecretUse[]> | undefined;
export let previousName: pulumi.Output<string | undefined> | undefined;

// `withBilling: false` removes the secret and this program's bindings of it.
if (cfg.getBoolean("withBilling") ?? true) {
  const billing = new StoreSecret("billing", {
    storeId: store.id,
    name: cfg.get("billingName") ?? "billing_key",
    value: cfg.requireSecret("billingValue"),
    scopes: (cfg.getObject<string[]>("billingScopes") ?? ["workers"]) as SecretScope[],
    rotation: { keepPrevious },
    deleteWhenBound: cfg.getBoolean("deleteWhenBound"),
  });
  new WorkerSecretBinding("api-billing", { scriptName: "api-worker", bindingName: "BILLING", storeId: store.id, secretName: billing.name });
  if (keepPrevious) {
    new WorkerSecretBinding("api-billing-previous", {
      scriptName: "api-worker",
      bindingName: "BILLING_PREVIOUS",
      storeId: store.id,
      secretName: billing.previousName.apply((name) => name ?? ""),
    });
  }
  boundBy = billing.boundBy;
  previousName = billing.previousName;
}
