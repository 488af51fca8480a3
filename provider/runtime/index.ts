/**
 * What the serialized shims `require` at call time (`pulumi-cloudflare-secrets-store/runtime`).
 * Keep these names stable: old state keeps old shim text, and refresh/destroy run it.
 */
import type * as pulumi from "@pulumi/pulumi";
import * as previousSecretCopy from "./previous-secret-copy";
import * as secretsStore from "./secrets-store";
import * as storeSecret from "./store-secret";
import * as workerSecretBinding from "./worker-secret-binding";
import * as workerSecretBindings from "./worker-secret-bindings";
import { rememberStackConfig, type StackConfig } from "./config";
import { GONE, scrubbed } from "./failures";
import { noteCall, runStep } from "./activity";
import { isClaimed } from "./deployment-memory";
import type { CheckFailure } from "./rules";
import type { Declarations, ResourceKind } from "../fields";
import type { InputsOf, StateOf } from "../fields/declare";

/** Called from the host's `configure`: keeps the stack config for later calls. */
export function configure(req: { config: StackConfig }): void {
  rememberStackConfig(req.config);
}

/**
 * One resource kind's handlers, typed with that kind's checked inputs and state as its declaration
 * (../fields) derives them: a runtime module whose signatures drift from its resource fails tsc.
 * Properties, not methods, so their parameters are checked strictly.
 */
export interface KindHandlers<Inputs, State> {
  check: (olds: Partial<State>, news: Record<string, unknown>) => Promise<{ inputs: Record<string, unknown>; failures: CheckFailure[] }>;
  diff: (id: string, olds: State, news: Inputs) => Promise<pulumi.dynamic.DiffResult>;
  create: (inputs: Inputs) => Promise<pulumi.dynamic.CreateResult<State>>;
  read: (id: string, props: State) => Promise<pulumi.dynamic.ReadResult<State> | typeof GONE>;
  update: (id: string, olds: State, news: Inputs) => Promise<pulumi.dynamic.UpdateResult<State>>;
  remove: (id: string, props: State) => Promise<void>;
}

/** The handlers of kind `K`. */
export type HandlersOf<K extends ResourceKind> = KindHandlers<InputsOf<Declarations[K]>, StateOf<Declarations[K]>>;

/** One kind's provider as the shims call it: its handlers, `remove` as the engine's `delete`. */
export type ProviderOf<K extends ResourceKind> = Omit<HandlersOf<K>, "remove"> & {
  delete: (id: string, props: StateOf<Declarations[K]>) => Promise<void>;
};

/**
 * The provider of one kind, as the shims call it. Two rules hold for every kind:
 * - an object that a create in this deployment took over (see {@link claim}) is never deleted by
 *   this deployment: a replacement that took over the same object (`adopt`, a binding's fixed id,
 *   `pulumi up --replace`) must not lose it when the engine deletes the resource it replaces;
 * - no error leaves with a secret value in it (see {@link scrubbed}).
 */
const asProvider = <K extends ResourceKind>(kind: K, m: HandlersOf<K>): ProviderOf<K> => ({
  check: scrubbed(called(m.check)),
  diff: scrubbed(called(m.diff)),
  create: scrubbed(step(m.create)),
  read: scrubbed(called(m.read)),
  update: scrubbed(step(m.update)),
  delete: scrubbed(
    step(async (id: string, props: StateOf<Declarations[K]>) => {
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

/** {@link called}, counted as a running step until it settles (batches go at once when every slot the engine has waits on them). */
const step = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => called((...args: A) => runStep(() => fn(...args)));

/** One provider per resource kind keyed by the kind the shims name. */
export const providers: { [K in ResourceKind]: ProviderOf<K> } = {
  SecretsStore: asProvider("SecretsStore", secretsStore),
  StoreSecret: asProvider("StoreSecret", storeSecret),
  WorkerSecretBinding: asProvider("WorkerSecretBinding", workerSecretBinding),
  WorkerSecretBindings: asProvider("WorkerSecretBindings", workerSecretBindings),
  PreviousSecretCopy: asProvider("PreviousSecretCopy", previousSecretCopy),
};

export type { ResourceKind };
