import * as pulumi from "@pulumi/pulumi";
import { SECRET_INPUTS_KEY, secretInputNames } from "./secret-inputs";
import { shimFor } from "./shim";

/** Inputs of a {@link PreviousSecretCopy}; a StoreSecret with `rotation.keepPrevious` fills them. */
export interface PreviousSecretCopyArgs {
  /**
   * The store holding the secret and its copy.
   * @example storeId: secret.storeId
   */
  storeId: pulumi.Input<string>;
  /**
   * The id of the secret whose previous value the copy holds.
   * @example secretId: secret.id
   */
  secretId: pulumi.Input<string>;
  /**
   * The name of that secret.
   * @example secretName: secret.name
   */
  secretName: pulumi.Input<string>;
  /**
   * The copy's name (the secret's `copyName`).
   * @example previousName: secret.copyName
   */
  previousName: pulumi.Input<string>;
  /**
   * The secret's value version; the copy is read again when it moves.
   * @example valueVersion: secret.valueVersion
   */
  valueVersion: pulumi.Input<number>;
  /**
   * Delete copies that Workers still bind (as the secret's `deleteWhenBound`).
   * @default false
   * @example deleteWhenBound: true
   */
  deleteWhenBound?: pulumi.Input<boolean>;
  /**
   * The Cloudflare account (default: as for the secret).
   * @example accountId: "0123456789abcdef0123456789abcdef"
   */
  accountId?: pulumi.Input<string>;
}

/**
 * The previous-value copy of a {@link StoreSecret} with `rotation.keepPrevious`, registered by
 * the secret as its child. Bind fallbacks to its `previousName` (or the secret's, which is this):
 * when `keepPrevious` is turned off, Pulumi then deletes the fallback binding first and the copy
 * after it.
 */
export class PreviousSecretCopy extends pulumi.dynamic.Resource {
  /** The copy's name. */
  declare readonly previousName: pulumi.Output<string>;
  /** The copy's secret id. */
  declare readonly previousId: pulumi.Output<string>;

  constructor(name: string, args: PreviousSecretCopyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimFor("PreviousSecretCopy"),
      name,
      { ...args, previousId: undefined, [SECRET_INPUTS_KEY]: secretInputNames(args) },
      opts,
      "cloudflare-secrets-store",
      "PreviousSecretCopy",
    );
  }
}
