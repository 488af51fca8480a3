/**
 * What the serialized shims `require` at call time (`pulumi-cloudflare-secrets-store/runtime`).
 * Keep these names stable: old state keeps old shim text, and refresh/destroy run it.
 */
import * as previousSecretCopy from "./previous-secret-copy";
import * as secretsStore from "./secrets-store";
import * as storeSecret from "./store-secret";
import * as workerSecretBinding from "./worker-secret-binding";
import * as workerSecretBindings from "./worker-secret-bindings";
import { rememberStackConfig, type StackConfig } from "./config";
import { scrubbed } from "./failures";
import { noteCall } from "./activity";
import { isClaimed } from "./deployment-memory";
import type { ResourceKindName } from "./kinds";

/** Called from the host's `configure`: keeps the stack config for later calls. */
export function configure(req: { config: StackConfig }): void {
  rememberStackConfig(req.config);
}

/** One resource kind's handlers, each typed with that kind's inputs and state. */
interface KindHandlers<State> {
  check(...args: never[]): Promise<unknown>;
  diff(...args: never[]): Promise<unknown>;
  create(...args: never[]): Promise<unknown>;
  read(...args: never[]): Promise<unknown>;
  update(...args: never[]): Promise<unknown>;
  remove(id: string, props: State): Promise<void>;
}

/**
 * The provider of one kind, as the shims call it. Two rules hold for every kind:
 * - an object that a create in this deployment took over (see {@link claim}) is never deleted by
 *   this deployment: a replacement that took over the same object (`adopt`, a binding's fixed id,
 *   `pulumi up --replace`) must not lose it when the engine deletes the resource it replaces;
 * - no error leaves with a secret value in it (see {@link scrubbed}).
 */
const asProvider = <State, M extends KindHandlers<State>>(kind: ResourceKindName, m: M & KindHandlers<State>) => ({
  check: scrubbed(called(m.check)),
  diff: scrubbed(called(m.diff)),
  create: scrubbed(called(m.create)),
  read: scrubbed(called(m.read)),
  update: scrubbed(called(m.update)),
  delete: scrubbed(
    called(async (id: string, props: State) => {
      if (!isClaimed(kind, id)) await m.remove(id, props);
    }),
  ),
});

/** `fn`, noting each call as the engine's (batches are held while the engine keeps calling). */
const called =
  <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
  (...args: A): Promise<R> => {
    noteCall();
    return fn(...args);
  };

/** One provider per resource kind (every kind of `RESOURCE_KINDS`, no other), keyed by the kind the shims name. */
export const providers = {
  SecretsStore: asProvider("SecretsStore", secretsStore),
  StoreSecret: asProvider("StoreSecret", storeSecret),
  WorkerSecretBinding: asProvider("WorkerSecretBinding", workerSecretBinding),
  WorkerSecretBindings: asProvider("WorkerSecretBindings", workerSecretBindings),
  PreviousSecretCopy: asProvider("PreviousSecretCopy", previousSecretCopy),
} satisfies Record<ResourceKindName, unknown>;

export type ResourceKind = keyof typeof providers;
