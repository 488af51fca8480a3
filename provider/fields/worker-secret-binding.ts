/** The fields of a WorkerSecretBinding, declared once (see ./declare). */
import type * as pulumi from "@pulumi/pulumi";
import type { WorkersScriptStoreBinding, WranglerSecretsStoreSecret } from "../resources/worker-secret-binding";
import { accountIdField, field, type ArgsOf, type InputsOf, type StateOf } from "./declare";

/** A binding as a wrangler config's `secrets_store_secrets` lists it. */
export type WranglerEntry = { binding: string; store_id: string; secret_name: string };
/** A binding as `cloudflare.WorkersScript`'s `bindings` takes it. */
export type ScriptBinding = { type: string; name: string; storeId: string; secretName: string };

export const WORKER_SECRET_BINDING = {
  scriptName: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "a Worker name; the Worker is deployed",
    type: "string",
    doc: "A deployed Worker. Changing it replaces the binding.",
    example: 'scriptName: "api-worker"',
  }),
  bindingName: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "a JavaScript identifier, at most 255; not used by another binding of the Worker",
    type: "string",
    doc: "A JavaScript identifier (`env.STRIPE_KEY`). Changing it replaces the binding.",
    example: 'bindingName: "STRIPE_KEY"',
  }),
  storeId: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "32 lowercase hex characters; the store exists",
    type: "string",
    doc: "The store. Changing it swaps the binding in one write.",
    example: "storeId: store.id",
  }),
  secretName: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "the secret exists (or this deployment creates it) with the `workers` scope",
    type: "string",
    doc: "The secret (pass the StoreSecret's `name` so it exists first). Changing it swaps the binding in one write.",
    example: "secretName: stripe.name",
  }),
  accountId: accountIdField("The account that holds the Worker.", 'accountId: "0123456789abcdef0123456789abcdef"'),
  wranglerConfig: field<never, WranglerEntry, WranglerSecretsStoreSecret>()({
    out: "declared",
    state: "always",
    type: "`{ binding, store_id, secret_name }`",
    doc: "The same binding for a wrangler config, so `wrangler deploy` keeps it: `secrets_store_secrets = [<this>]`.",
  }),
  workersScriptBinding: field<never, ScriptBinding, WorkersScriptStoreBinding>()({
    out: "declared",
    state: "always",
    type: '`{ type: "secrets_store_secret", name, storeId, secretName }`',
    doc: "The same binding for @pulumi/cloudflare's `WorkersScript` `bindings`.",
  }),
};

export type WorkerSecretBindingFields = typeof WORKER_SECRET_BINDING;
export type WorkerSecretBindingDeclaredArgs = ArgsOf<WorkerSecretBindingFields>;
/** A WorkerSecretBinding's checked inputs. */
export type WorkerSecretBindingInputs = InputsOf<WorkerSecretBindingFields>;
/** Its state: the inputs, and the same binding for a wrangler config and for `cloudflare.WorkersScript`. */
export type WorkerSecretBindingState = StateOf<WorkerSecretBindingFields>;
