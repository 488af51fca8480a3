import * as pulumi from "@pulumi/pulumi";
import { SECRET_INPUTS_KEY, secretInputNames } from "./secret-inputs";
import { shimFor } from "./shim";
import { outputPlaceholders, type Assert, type ClassMatches, type Equal } from "../fields/declare";
import { SECRETS_STORE, type SecretsStoreDeclaredArgs } from "../fields/secrets-store";

/** Arguments of a {@link SecretsStore}. */
export interface SecretsStoreArgs {
  /**
   * The store's name. Changing it replaces the store (the old one is deleted first: accounts hold
   * one store during the beta).
   * @example "default_secrets_store"
   */
  name: pulumi.Input<string>;
  /**
   * Take over an existing store with this name instead of creating one. Accounts get a store
   * created for them the first time someone opens Secrets Store in the dashboard; adopt it. An
   * account has one store, which every stack of the account shares, so an adopted store is
   * released, not deleted, when this resource is deleted (`pulumi destroy`): the store and every
   * secret in it stay. Set `forceDestroy` to delete it all the same.
   * @default false
   * @example new SecretsStore("main", { name: "default_secrets_store", adopt: true })
   */
  adopt?: pulumi.Input<boolean>;
  /**
   * Let `pulumi destroy` delete the store together with the secrets it still holds, an adopted
   * store included. Without it, deleting a non-empty store fails and says how many secrets it
   * holds, and an adopted store is released.
   * @default false
   * @example forceDestroy: true
   */
  forceDestroy?: pulumi.Input<boolean>;
  /**
   * The Cloudflare account. Default: stack config `cloudflare-secrets-store:accountId`, else the
   * `CLOUDFLARE_ACCOUNT_ID` environment variable.
   * @example "0123456789abcdef0123456789abcdef"
   */
  accountId?: pulumi.Input<string>;
}

/**
 * A Cloudflare Secrets Store: the account-level container of secrets.
 *
 * Preview fails, before anything is written, when the account already has a store by this name
 * (unless `adopt`) or when creating one would exceed the account's store limit.
 *
 * @example
 * ```ts
 * const store = new SecretsStore("main", { name: "default_secrets_store", adopt: true });
 * ```
 */
export class SecretsStore extends pulumi.dynamic.Resource {
  /** The store's name. */
  declare readonly name: pulumi.Output<string>;
  /** The account that holds the store. */
  declare readonly accountId: pulumi.Output<string>;
  /** When the store was created (RFC 3339). */
  declare readonly created: pulumi.Output<string>;
  /** When the store was last modified (RFC 3339). */
  declare readonly modified: pulumi.Output<string>;

  constructor(name: string, args: SecretsStoreArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimFor("SecretsStore"),
      name,
      { ...outputPlaceholders(SECRETS_STORE), ...args, [SECRET_INPUTS_KEY]: secretInputNames(args) },
      opts,
      "cloudflare-secrets-store",
      "SecretsStore",
    );
  }
}

// The interface and the class carry the TSDoc an IDE shows; the declaration (../fields) is the one
// source of the fields: these fail tsc when either drifts from it.
type _ArgsMatch = Assert<Equal<SecretsStoreArgs, SecretsStoreDeclaredArgs>>;
type _OutputsMatch = Assert<ClassMatches<SecretsStore, typeof SECRETS_STORE>>;
