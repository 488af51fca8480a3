/** The fields of a WorkerSecretBindings, declared once (see ./declare). */
import type * as pulumi from "@pulumi/pulumi";
import type { WorkersScriptStoreBinding, WranglerSecretsStoreSecret } from "../resources/worker-secret-binding";
import { accountIdField, field, type ArgsOf, type InputsOf, type StateOf } from "./declare";
import type { ScriptBinding, WranglerEntry } from "./worker-secret-binding";

export const WORKER_SECRET_BINDINGS = {
  scriptName: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "a Worker name; the Worker is deployed",
    type: "string",
    doc: "A deployed Worker. Changing it replaces the resource.",
    example: 'scriptName: "api-worker"',
  }),
  storeId: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "32 lowercase hex characters; the store exists",
    type: "string",
    doc: "The store. Changing it swaps every binding in place.",
    example: "storeId: store.id",
  }),
  bindings: field<pulumi.Input<Record<string, pulumi.Input<string>>>, Record<string, string>>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "as `WorkerSecretBinding`'s `bindingName` and `secretName`, for every entry",
    type: "map of binding name to secret name",
    doc: "Binding name (a JavaScript identifier: the Worker reads `env.<name>`) to secret name. Pass the StoreSecrets' `name` outputs so the secrets exist first. Adding, changing or removing entries is one settings write for the Worker.",
    outDoc: "The bindings, as on the Worker after the last `up` or `refresh`.",
    example: "bindings: { STRIPE_KEY: stripe.name, OPENAI_KEY: openai.name }",
  }),
  accountId: accountIdField("The account that holds the Worker.", 'accountId: "0123456789abcdef0123456789abcdef"'),
  wranglerConfig: field<never, WranglerEntry[], WranglerSecretsStoreSecret[]>()({
    out: "declared",
    state: "always",
    type: "list of `{ binding, store_id, secret_name }`",
    doc: "The same bindings for a wrangler config, so `wrangler deploy` keeps them: `secrets_store_secrets = <this>`.",
  }),
  workersScriptBindings: field<never, ScriptBinding[], WorkersScriptStoreBinding[]>()({
    out: "declared",
    state: "always",
    type: "list of `{ type, name, storeId, secretName }`",
    doc: "The same bindings for @pulumi/cloudflare's `WorkersScript` `bindings`.",
  }),
};

export type WorkerSecretBindingsFields = typeof WORKER_SECRET_BINDINGS;
export type WorkerSecretBindingsDeclaredArgs = ArgsOf<WorkerSecretBindingsFields>;
/** A WorkerSecretBindings' checked inputs: binding name to secret name. */
export type WorkerSecretBindingsInputs = InputsOf<WorkerSecretBindingsFields>;
/** Its state: the inputs, and the same bindings for a wrangler config and for `cloudflare.WorkersScript`. */
export type WorkerSecretBindingsState = StateOf<WorkerSecretBindingsFields>;
