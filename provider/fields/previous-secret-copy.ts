/** The fields of a PreviousSecretCopy, declared once (see ./declare). */
import type * as pulumi from "@pulumi/pulumi";
import { field, type ArgsOf, type InputsOf, type StateOf } from "./declare";

export const PREVIOUS_SECRET_COPY = {
  storeId: field<pulumi.Input<string>, string>()({
    arg: "required",
    checked: "always",
    state: "always",
    preview: "32 lowercase hex characters",
    type: "string",
    doc: "The store holding the secret and its copy.",
    example: "storeId: secret.storeId",
  }),
  secretId: field<pulumi.Input<string>, string>()({
    arg: "required",
    checked: "always",
    state: "always",
    preview: "32 lowercase hex characters",
    type: "string",
    doc: "The id of the secret whose previous value the copy holds.",
    example: "secretId: secret.id",
  }),
  secretName: field<pulumi.Input<string>, string>()({
    arg: "required",
    checked: "always",
    state: "always",
    type: "string",
    doc: "The name of that secret.",
    example: "secretName: secret.name",
  }),
  previousName: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "a valid secret name",
    type: "string",
    doc: "The copy's name (the secret's `copyName`).",
    example: "previousName: secret.copyName",
  }),
  valueVersion: field<pulumi.Input<number>, number>()({
    arg: "required",
    checked: "always",
    state: "always",
    type: "number",
    doc: "The secret's value version; the copy is read again when it moves.",
    example: "valueVersion: secret.valueVersion",
  }),
  deleteWhenBound: field<pulumi.Input<boolean>, boolean>()({
    arg: "optional",
    checked: "optional",
    state: "optional",
    type: "boolean, default false",
    doc: "Delete copies that Workers still bind (as the secret's `deleteWhenBound`).",
    example: "deleteWhenBound: true",
  }),
  accountId: field<pulumi.Input<string>, string>()({
    arg: "optional",
    checked: "optional",
    state: "always",
    preview: "32 lowercase hex characters",
    type: "string",
    doc: "The Cloudflare account (default: as for the secret).",
    example: 'accountId: "0123456789abcdef0123456789abcdef"',
  }),
  previousId: field<never, string>()({ out: "declared", state: "always", type: "string", doc: "The copy's secret id." }),
};

export type PreviousSecretCopyFields = typeof PREVIOUS_SECRET_COPY;
export type PreviousSecretCopyDeclaredArgs = ArgsOf<PreviousSecretCopyFields>;
/** A PreviousSecretCopy's checked inputs. */
export type PreviousSecretCopyInputs = InputsOf<PreviousSecretCopyFields>;
/** Its state: the inputs, and the copy's id as found. */
export type PreviousSecretCopyState = StateOf<PreviousSecretCopyFields>;
