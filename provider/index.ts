/**
 * Cloudflare Secrets Store as Pulumi resources: stores, secrets whose values never land in the
 * state, and Worker bindings that leave every other binding alone.
 */
export { SecretsStore, type SecretsStoreArgs } from "./resources/secrets-store";
export { StoreSecret, type StoreSecretArgs, type SecretRotation, type SecretScope } from "./resources/store-secret";
export {
  WorkerSecretBinding,
  type WorkerSecretBindingArgs,
  type WranglerSecretsStoreSecret,
  type WorkersScriptStoreBinding,
} from "./resources/worker-secret-binding";
export { WorkerSecretBindings, type WorkerSecretBindingsArgs } from "./resources/worker-secret-bindings";
export { PreviousSecretCopy, type PreviousSecretCopyArgs } from "./resources/previous-secret-copy";
export type { SecretUse } from "./resources/declared-bindings";
export { CloudflareApiError } from "./api/error";
