import * as pulumi from "@pulumi/pulumi";
import { SECRET_INPUTS_KEY, secretInputNames } from "./secret-inputs";
import { shimFor } from "./shim";
import { outputPlaceholders, type Assert, type ClassMatches, type Equal } from "../fields/declare";
import { PREVIOUS_SECRET_COPY, type PreviousSecretCopyDeclaredArgs } from "../fields/previous-secret-copy";

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
      { ...outputPlaceholders(PREVIOUS_SECRET_COPY), ...args, [SECRET_INPUTS_KEY]: secretInputNames(args) },
      opts,
      "cloudflare-secrets-store",
      "PreviousSecretCopy",
    );
  }
}

// The interface and the class carry the TSDoc an IDE shows; the declaration (../fields) is the one
// source of the fields: these fail tsc when either drifts from it.
type _ArgsMatch = Assert<Equal<PreviousSecretCopyArgs, PreviousSecretCopyDeclaredArgs>>;
type _OutputsMatch = Assert<ClassMatches<PreviousSecretCopy, typeof PREVIOUS_SECRET_COPY>>;
