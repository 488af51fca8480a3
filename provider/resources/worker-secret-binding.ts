import * as pulumi from "@pulumi/pulumi";
import { declareBindings } from "./declared-bindings";
import { SECRET_INPUTS_KEY, secretInputNames } from "./secret-inputs";
import { shimFor } from "./shim";
import { outputPlaceholders, type Assert, type ClassMatches, type Equal } from "../fields/declare";
import { WORKER_SECRET_BINDING, type WorkerSecretBindingDeclaredArgs } from "../fields/worker-secret-binding";

/** Arguments of a {@link WorkerSecretBinding}. */
export interface WorkerSecretBindingArgs {
  /**
   * The deployed Worker to bind into. Changing it replaces the binding.
   * @example scriptName: "api-worker"
   */
  scriptName: pulumi.Input<string>;
  /**
   * The binding's name: a JavaScript identifier; the Worker reads `await env.<bindingName>.get()`.
   * Changing it replaces the binding.
   * @example bindingName: "STRIPE_KEY"
   */
  bindingName: pulumi.Input<string>;
  /**
   * The store holding the secret. Changing it swaps the binding in place.
   * @example storeId: store.id
   */
  storeId: pulumi.Input<string>;
  /**
   * The secret's name. Pass the StoreSecret's output so the secret exists first. Changing it
   * swaps the binding in place (one settings write).
   * @example secretName: stripe.name
   */
  secretName: pulumi.Input<string>;
  /**
   * The Cloudflare account. Default: stack config `cloudflare-secrets-store:accountId`, else the
   * `CLOUDFLARE_ACCOUNT_ID` environment variable.
   * @example accountId: "0123456789abcdef0123456789abcdef"
   */
  accountId?: pulumi.Input<string>;
}

/** An entry for a wrangler config's `secrets_store_secrets`. */
export interface WranglerSecretsStoreSecret {
  binding: string;
  store_id: string;
  secret_name: string;
}

/** A binding for `@pulumi/cloudflare`'s `WorkersScript` `bindings`. */
export interface WorkersScriptStoreBinding {
  type: "secrets_store_secret";
  name: string;
  storeId: string;
  secretName: string;
}

/**
 * Binds a Secrets Store secret to a Worker that something else deploys, keeping every other
 * binding of that Worker exactly as it is (read, merge, write; serialised per Worker).
 *
 * Preview fails, before anything is written, on an invalid binding name, a missing Worker, a
 * binding name already used by another binding, a missing secret, or a secret without the
 * `workers` scope.
 *
 * @example
 * ```ts
 * new WorkerSecretBinding("api-stripe", {
 *   scriptName: "api-worker",
 *   bindingName: "STRIPE_KEY",
 *   storeId: store.id,
 *   secretName: stripe.name,
 * });
 * ```
 */
export class WorkerSecretBinding extends pulumi.dynamic.Resource {
  declare readonly scriptName: pulumi.Output<string>;
  declare readonly bindingName: pulumi.Output<string>;
  declare readonly storeId: pulumi.Output<string>;
  declare readonly secretName: pulumi.Output<string>;
  declare readonly accountId: pulumi.Output<string>;
  /** The same binding for a wrangler config, so `wrangler deploy` keeps it: `secrets_store_secrets = [<this>]`. */
  declare readonly wranglerConfig: pulumi.Output<WranglerSecretsStoreSecret>;
  /** The same binding for `cloudflare.WorkersScript`'s `bindings`. */
  declare readonly workersScriptBinding: pulumi.Output<WorkersScriptStoreBinding>;

  constructor(name: string, args: WorkerSecretBindingArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimFor("WorkerSecretBinding"),
      name,
      { ...outputPlaceholders(WORKER_SECRET_BINDING), ...args, [SECRET_INPUTS_KEY]: secretInputNames(args) },
      opts,
      "cloudflare-secrets-store",
      "WorkerSecretBinding",
    );
    declareBindings(
      pulumi
        .all([args.scriptName, args.bindingName, args.storeId, args.secretName])
        .apply(([scriptName, bindingName, storeId, secretName]) => [{ scriptName, bindingName, storeId, secretName }]),
    );
  }
}

// The interface and the class carry the TSDoc an IDE shows; the declaration (../fields) is the one
// source of the fields: these fail tsc when either drifts from it.
type _ArgsMatch = Assert<Equal<WorkerSecretBindingArgs, WorkerSecretBindingDeclaredArgs>>;
type _OutputsMatch = Assert<ClassMatches<WorkerSecretBinding, typeof WORKER_SECRET_BINDING>>;
