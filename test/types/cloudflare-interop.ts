/**
 * Compile-time checks (run by `npm run typecheck`, part of `npm test`): our outputs are accepted
 * where @pulumi/cloudflare expects its inputs. Nothing here runs or creates a resource.
 */
import type * as cloudflare from "@pulumi/cloudflare";
import type { SecretsStore, StoreSecret, WorkerSecretBinding, WorkerSecretBindings } from "pulumi-cloudflare-secrets-store";

declare const store: SecretsStore;
declare const secret: StoreSecret;
declare const binding: WorkerSecretBinding;
declare const bindings: WorkerSecretBindings;

/** A Worker deployed by @pulumi/cloudflare, binding our secret with the binding's ready-made entry. */
export const workersScriptArgs: cloudflare.WorkersScriptArgs = {
  accountId: store.accountId,
  scriptName: "api-worker",
  content: "export default { fetch() { return new Response('ok'); } };",
  mainModule: "index.js",
  bindings: [binding.workersScriptBinding, { type: "secrets_store_secret", name: "OTHER", storeId: store.id, secretName: secret.name }],
};

/** Every binding of a WorkerSecretBindings, as a Worker's whole binding list. */
export const workersScriptFromMap: cloudflare.WorkersScriptArgs = {
  accountId: store.accountId,
  scriptName: "billing-worker",
  content: "export default { fetch() { return new Response('ok'); } };",
  mainModule: "index.js",
  bindings: bindings.workersScriptBindings,
};

/** Our store and secret ids where @pulumi/cloudflare's own Secrets Store resources take them. */
export const secretArgs: cloudflare.SecretsStoreSecretArgs = {
  accountId: secret.accountId,
  storeId: store.id,
  name: "copy",
  scopes: secret.scopes,
  value: "unused",
};
