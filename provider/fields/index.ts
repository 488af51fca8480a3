/** Every resource kind's declaration (see ./declare), keyed by the kind the shims name. */
import { PREVIOUS_SECRET_COPY } from "./previous-secret-copy";
import { SECRETS_STORE } from "./secrets-store";
import { STORE_SECRET } from "./store-secret";
import { WORKER_SECRET_BINDING } from "./worker-secret-binding";
import { WORKER_SECRET_BINDINGS } from "./worker-secret-bindings";

export const DECLARATIONS = {
  SecretsStore: SECRETS_STORE,
  StoreSecret: STORE_SECRET,
  WorkerSecretBinding: WORKER_SECRET_BINDING,
  WorkerSecretBindings: WORKER_SECRET_BINDINGS,
  PreviousSecretCopy: PREVIOUS_SECRET_COPY,
};

export type Declarations = typeof DECLARATIONS;
export type ResourceKind = keyof Declarations;

/** Every resource kind, in one list: the runtime's `providers` and the test rig follow it. */
export const RESOURCE_KINDS = Object.keys(DECLARATIONS) as ResourceKind[];
