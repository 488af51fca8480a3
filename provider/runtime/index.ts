/**
 * What the serialized shims `require` at call time (`pulumi-cloudflare-secrets-store/runtime`).
 * Keep these names stable: old state keeps old shim text, and refresh/destroy run it.
 */
import * as previousSecretCopy from "./previous-secret-copy";
import * as secretsStore from "./secrets-store";
import * as storeSecret from "./store-secret";
import * as workerSecretBinding from "./worker-secret-binding";
import { setStackConfig, type StackConfig } from "./config";

/** Called from the host's `configure`: keeps the stack config for later calls. */
export function configure(req: { config: StackConfig }): void {
  setStackConfig(req.config);
}

const asProvider = (m: typeof secretsStore | typeof storeSecret | typeof workerSecretBinding | typeof previousSecretCopy) => ({
  check: m.check,
  diff: m.diff,
  create: m.create,
  read: m.read,
  update: m.update,
  delete: m.remove,
});

/** One provider per resource kind, keyed by the kind the shims name. */
export const providers = {
  SecretsStore: asProvider(secretsStore),
  StoreSecret: asProvider(storeSecret),
  WorkerSecretBinding: asProvider(workerSecretBinding),
  PreviousSecretCopy: asProvider(previousSecretCopy),
};

export type ResourceKind = keyof typeof providers;
