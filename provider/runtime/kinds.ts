/**
 * Every resource kind the package serves, in one list: `providers` in `./index.ts` has one entry
 * per kind (the compiler checks it), the engine's type token of each is
 * `cloudflare-secrets-store:<kind>`, and the test rig captures one serialized provider per kind
 * from it. No other imports, so tests and tools can read it without loading the runtime.
 */
export const RESOURCE_KINDS = ["SecretsStore", "StoreSecret", "WorkerSecretBinding", "WorkerSecretBindings", "PreviousSecretCopy"] as const;

/** One resource kind, as the shims name it. */
export type ResourceKindName = (typeof RESOURCE_KINDS)[number];
