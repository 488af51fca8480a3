import * as pulumi from "@pulumi/pulumi";
import { shimFor } from "./shim";

/** Inputs of a {@link PreviousSecretCopy}; a StoreSecret with `rotation.keepPrevious` fills them. */
export interface PreviousSecretCopyArgs {
  storeId: pulumi.Input<string>;
  /** The id of the secret whose previous value the copy holds. */
  secretId: pulumi.Input<string>;
  /** The name of that secret. */
  secretName: pulumi.Input<string>;
  /** The copy's name. */
  previousName: pulumi.Input<string>;
  /** The secret's value version; the copy is re-read when it moves. */
  valueVersion: pulumi.Input<number>;
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
    super(shimFor("PreviousSecretCopy"), name, { ...args, previousId: undefined }, opts, "cloudflare-secrets-store", "PreviousSecretCopy");
  }
}
