import * as pulumi from "@pulumi/pulumi";
import type { Scope } from "../runtime/rules";
import { VALUE_FROM_MARKER } from "../fields/wire";
import { markManaged, type SecretUse } from "./declared-bindings";
import { PreviousSecretCopy } from "./previous-secret-copy";
import { SECRET_INPUTS_KEY, secretInputNames } from "./secret-inputs";
import { shimFor } from "./shim";
import { outputPlaceholders, type Assert, type ClassMatches, type Equal } from "../fields/declare";
import { STORE_SECRET, type StoreSecretDeclaredArgs } from "../fields/store-secret";

/** A scope: a service allowed to use the secret. `ai-gateway` is accepted as `ai_gateway`. */
export type SecretScope = Scope | "ai-gateway";

/** Keep the value that was current before each rotation as a copy, for a fallback binding. */
export interface SecretRotation {
  /**
   * Keep a copy of the previous value. The copy exists from the secret's creation (a duplicate of
   * the first value); each time the value changes, the live value is first copied to a new copy,
   * the fallback bindings move to it, and only then is the older copy deleted, so a fallback never
   * points at nothing. Cloudflare copies the value; it never passes through Pulumi.
   * @example keepPrevious: true
   */
  keepPrevious: boolean;
  /**
   * The base of the copies' names: the copy holding value version n is `<previousName>_v<n>`
   * (the secret's `previousName` output gives the current one).
   * @default "<name>_previous"
   * @example previousName: "stripe_api_key_previous"
   */
  previousName?: string;
}

/** Arguments of a {@link StoreSecret}. */
export interface StoreSecretArgs {
  /**
   * The store that holds the secret. Changing it replaces the secret.
   * @example storeId: store.id
   */
  storeId: pulumi.Input<string>;
  /**
   * The secret's name: letters, digits, `_` and `-`. Changing it replaces the secret (a secret
   * whose value the program does not hold is copied under the new name, so its value is kept).
   * @example name: "stripe_api_key"
   */
  name: pulumi.Input<string>;
  /**
   * The secret value. Write-only: the resource's state keeps only a slow salted fingerprint
   * (scrypt, so a changed value still shows as an update). Made a Pulumi secret even when passed
   * plain. Note that a value from stack config is also in the stack's config (and so, encrypted,
   * in the default provider's state entry); use `valueFrom` to keep it out of Pulumi altogether.
   * At most 1,024 UTF-8 bytes unless `allowLargeValue`. Omit it with `valueFrom`, `duplicateOf`
   * or `adopt`.
   * @example value: new pulumi.Config().requireSecret("stripeKey")
   */
  value?: pulumi.Input<string>;
  /**
   * Where the provider reads the value itself, instead of `value`: an environment variable of the
   * process that runs `pulumi preview`/`pulumi up` (a CI job sets it from its own secret store).
   * The value then never enters the program, the stack config or the state; only its fingerprint
   * is kept. Preview fails, naming the variable, when it is not set.
   * @example valueFrom: { env: "STRIPE_KEY" }
   */
  valueFrom?: { env: string };
  /**
   * The services that may use the secret; compared as a set. A secret bound to a Worker needs
   * `workers`.
   * @example scopes: ["workers", "ai_gateway"]
   */
  scopes: pulumi.Input<pulumi.Input<SecretScope>[]>;
  /**
   * Free text shown in the dashboard.
   * @example comment: "Stripe live key, rotated by PR"
   */
  comment?: pulumi.Input<string>;
  /**
   * Take over an existing secret with this name (then set its value, scopes and comment from this
   * program) instead of failing at preview because the name is taken.
   * @default false
   * @example adopt: true
   */
  adopt?: pulumi.Input<boolean>;
  /**
   * Allow values up to the API's 65,536 bytes instead of the documented 1,024 (users report larger
   * values failing when a Worker is deployed).
   * @default false
   * @example allowLargeValue: true
   */
  allowLargeValue?: pulumi.Input<boolean>;
  /**
   * Create the secret as a copy of another secret's value (Cloudflare copies it; nobody reads it),
   * for example the same key with another scope. Such a secret has no `value` in code.
   * @example duplicateOf: { secretId: openaiKey.id }
   */
  duplicateOf?: pulumi.Input<{ secretId: pulumi.Input<string> }>;
  /**
   * Rotation that can be rolled back: keep the previous value as a second secret. A plain value
   * (not an Output): it decides whether the copy's resource exists.
   * @example rotation: { keepPrevious: true }
   */
  rotation?: SecretRotation;
  /**
   * Accept breaking Workers: let this secret (or its previous-value copy) be deleted, renamed,
   * replaced or lose its `workers` scope while Workers that this program does not manage still
   * bind it. Without it, such a change fails (at preview for a scope removal, at the delete
   * otherwise) naming each Worker and binding, and nothing is deleted. To delete a bound secret,
   * set it and run `pulumi up` before removing the resource from the program.
   * @default false
   * @example deleteWhenBound: true
   */
  deleteWhenBound?: pulumi.Input<boolean>;
  /**
   * The Cloudflare account. Default: stack config `cloudflare-secrets-store:accountId`, else the
   * `CLOUDFLARE_ACCOUNT_ID` environment variable.
   * @example accountId: "0123456789abcdef0123456789abcdef"
   */
  accountId?: pulumi.Input<string>;
}

/**
 * The value as the program holds it, with each lone UTF-16 surrogate (a string cut inside an emoji)
 * replaced by U+FFFD, which `check` refuses naming `value`. Left alone, the SDK's encoder would drop
 * a lone surrogate on its way to `check`, and the secret would silently hold other text than the
 * program's. Not thrown here: the SDK formats an error thrown in an apply with `util.inspect`, which
 * on Node.js 20.20 and 22.23 spends a minute and gigabytes on the SDK's stack frames before it
 * gives up (nodejs/node#64011).
 */
const wellFormed = (value: string): string => (typeof value === "string" ? value.replace(/\p{Cs}/gu, "\uFFFD") : value);

/**
 * A secret in a Cloudflare Secrets Store, whose value never lands in the Pulumi state.
 *
 * Preview checks, before anything is written: the name rules, the value's size, the scopes, the
 * account's quota (counting every secret this deployment creates) and whether the name is taken.
 *
 * @example
 * ```ts
 * const stripe = new StoreSecret("stripe", {
 *   storeId: store.id,
 *   name: "stripe_api_key",
 *   value: cfg.requireSecret("stripeKey"),
 *   scopes: ["workers"],
 * });
 * ```
 */
export class StoreSecret extends pulumi.dynamic.Resource {
  /** The secret's name. */
  declare readonly name: pulumi.Output<string>;
  /** The store that holds it. */
  declare readonly storeId: pulumi.Output<string>;
  /** The account that holds it. */
  declare readonly accountId: pulumi.Output<string>;
  /** Its scopes, sorted. */
  declare readonly scopes: pulumi.Output<string[]>;
  /** Its comment ("" when none). */
  declare readonly comment: pulumi.Output<string>;
  /** `pending`, `active` or `deleted`. */
  declare readonly status: pulumi.Output<string>;
  /** When it was created (RFC 3339). */
  declare readonly created: pulumi.Output<string>;
  /** When it was last modified (RFC 3339). */
  declare readonly modified: pulumi.Output<string>;
  /** Goes up by one each time the value changes: a rotation shows in the preview without the value. */
  declare readonly valueVersion: pulumi.Output<number>;
  /**
   * With `rotation.keepPrevious`: the name of the copy holding the previous value
   * (`<previousName>_v<n>`), for a fallback binding. It comes from the copy's own resource, so a
   * binding using it moves to a new copy before the old one is deleted, and is removed before it.
   */
  readonly previousName: pulumi.Output<string | undefined>;
  /** The copy's name as this secret last wrote it; bind fallbacks to {@link previousName} instead. */
  declare readonly copyName: pulumi.Output<string | undefined>;
  /**
   * The Workers that bind this secret or its copy, found by reading every Worker of the account at
   * `pulumi refresh` (and at a create with `adopt`), each marked `managed` when a binding resource
   * of this program declares it.
   * @example export const stripeUsers = stripe.boundBy;
   */
  declare readonly boundBy: pulumi.Output<SecretUse[]>;
  /** With `rotation.keepPrevious`: the id of that copy. */
  readonly previousId: pulumi.Output<string | undefined>;

  constructor(name: string, args: StoreSecretArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimFor("StoreSecret"),
      name,
      {
        ...outputPlaceholders(STORE_SECRET),
        ...args,
        [SECRET_INPUTS_KEY]: secretInputNames(args),
        // With `valueFrom`, a secret placeholder: the fingerprint `check` stores under `value` stays secret.
        value:
          args.value !== undefined
            ? pulumi.secret(pulumi.output(args.value).apply(wellFormed))
            : args.valueFrom !== undefined
              ? pulumi.secret(VALUE_FROM_MARKER)
              : undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "value"] },
      "cloudflare-secrets-store",
      "StoreSecret",
    );
    this.boundBy = markManaged(this.boundBy, this.storeId);
    if (args.rotation?.keepPrevious) {
      const copy = new PreviousSecretCopy(
        `${name}-previous`,
        {
          accountId: args.accountId,
          storeId: this.storeId,
          secretId: this.id,
          secretName: this.name,
          previousName: this.copyName.apply((n) => n ?? ""),
          valueVersion: this.valueVersion,
          deleteWhenBound: args.deleteWhenBound,
        },
        { parent: this },
      );
      this.previousName = copy.previousName;
      this.previousId = copy.previousId;
    } else {
      this.previousName = pulumi.output(undefined);
      this.previousId = pulumi.output(undefined);
    }
  }
}

// The interface and the class carry the TSDoc an IDE shows; the declaration (../fields) is the one
// source of the fields: these fail tsc when either drifts from it.
type _ArgsMatch = Assert<Equal<StoreSecretArgs, StoreSecretDeclaredArgs>>;
type _OutputsMatch = Assert<ClassMatches<StoreSecret, typeof STORE_SECRET>>;
