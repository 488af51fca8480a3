import * as pulumi from "@pulumi/pulumi";
import { declareBindings } from "./declared-bindings";
import { SECRET_INPUTS_KEY, secretInputNames } from "./secret-inputs";
import { shimFor } from "./shim";
import { outputPlaceholders, type Assert, type ClassMatches, type Equal } from "../fields/declare";
import { WORKER_SECRET_BINDINGS, type WorkerSecretBindingsDeclaredArgs } from "../fields/worker-secret-bindings";
import type { WorkersScriptStoreBinding, WranglerSecretsStoreSecret } from "./worker-secret-binding";

/** Arguments of a {@link WorkerSecretBindings}. */
export interface WorkerSecretBindingsArgs {
  /**
   * The deployed Worker to bind into. Changing it replaces the resource.
   * @example scriptName: "api-worker"
   */
  scriptName: pulumi.Input<string>;
  /**
   * The store holding the secrets. Changing it swaps every binding in place.
   * @example storeId: store.id
   */
  storeId: pulumi.Input<string>;
  /**
   * Binding name (a JavaScript identifier: the Worker reads `await env.<name>.get()`) to secret
   * name. Pass the StoreSecrets' `name` outputs so the secrets exist first. Adding, changing or
   * removing entries is one settings write for the Worker.
   * @example bindings: { STRIPE_KEY: stripe.name, OPENAI_KEY: openai.name }
   */
  bindings: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * The Cloudflare account. Default: stack config `cloudflare-secrets-store:accountId`, else the
   * `CLOUDFLARE_ACCOUNT_ID` environment variable.
   * @example accountId: "0123456789abcdef0123456789abcdef"
   */
  accountId?: pulumi.Input<string>;
}

/**
 * All of a program's store bindings for one Worker, as one resource: like a wrangler config's
 * `secrets_store_secrets`. Use it when a Worker gets many bindings: a deployment then writes each
 * Worker once (one fresh read, one `PATCH`) whatever `--parallel` is, where one
 * {@link WorkerSecretBinding} per binding is one step each. Every other binding of the Worker
 * survives exactly. Preview checks what `WorkerSecretBinding` checks, for every entry.
 *
 * @example
 * ```ts
 * new WorkerSecretBindings("api-worker-secrets", {
 *   scriptName: "api-worker",
 *   storeId: store.id,
 *   bindings: { STRIPE_KEY: stripe.name, OPENAI_KEY: openai.name },
 * });
 * ```
 */
export class WorkerSecretBindings extends pulumi.dynamic.Resource {
  declare readonly scriptName: pulumi.Output<string>;
  declare readonly storeId: pulumi.Output<string>;
  /** The bindings, as on the Worker after the last `up` or `refresh`. */
  declare readonly bindings: pulumi.Output<Record<string, string>>;
  declare readonly accountId: pulumi.Output<string>;
  /** The same bindings for a wrangler config, so `wrangler deploy` keeps them: `secrets_store_secrets = <this>`. */
  declare readonly wranglerConfig: pulumi.Output<WranglerSecretsStoreSecret[]>;
  /** The same bindings for `cloudflare.WorkersScript`'s `bindings`. */
  declare readonly workersScriptBindings: pulumi.Output<WorkersScriptStoreBinding[]>;

  constructor(name: string, args: WorkerSecretBindingsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimFor("WorkerSecretBindings"),
      name,
      { ...outputPlaceholders(WORKER_SECRET_BINDINGS), ...args, [SECRET_INPUTS_KEY]: secretInputNames(args) },
      opts,
      "cloudflare-secrets-store",
      "WorkerSecretBindings",
    );
    declareBindings(
      pulumi
        .all([args.scriptName, args.storeId, pulumi.output(args.bindings)])
        .apply(([scriptName, storeId, bindings]) =>
          Object.entries(bindings).map(([bindingName, secretName]) => ({ scriptName, bindingName, storeId, secretName })),
        ),
    );
  }
}

// The interface and the class carry the TSDoc an IDE shows; the declaration (../fields) is the one
// source of the fields: these fail tsc when either drifts from it.
type _ArgsMatch = Assert<Equal<WorkerSecretBindingsArgs, WorkerSecretBindingsDeclaredArgs>>;
type _OutputsMatch = Assert<ClassMatches<WorkerSecretBindings, typeof WORKER_SECRET_BINDINGS>>;
