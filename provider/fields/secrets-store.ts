/** The fields of a SecretsStore, declared once (see ./declare). */
import type * as pulumi from "@pulumi/pulumi";
import { accountIdField, field, type ArgsOf, type InputsOf, type StateOf } from "./declare";

export const SECRETS_STORE = {
  name: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "letters, digits, `_` and `-`, at most 255; not taken by a store this resource did not adopt; within the account's store limit",
    type: "string",
    outDoc: "The store's name.",
    doc: "The store's name. Changing it replaces the store, deleting the old one first (one store per account).",
    example: '"default_secrets_store"',
  }),
  adopt: field<pulumi.Input<boolean>, boolean>()({
    arg: "optional",
    checked: "always",
    state: "always",
    type: "boolean, default false",
    doc: "Take over an existing store with this name instead of creating one. An adopted store is **released, not deleted**, when the resource is deleted (`pulumi destroy`): the store and its secrets stay, for the other stacks that share it.",
    example: 'new SecretsStore("main", { name: "default_secrets_store", adopt: true })',
  }),
  forceDestroy: field<pulumi.Input<boolean>, boolean>()({
    arg: "optional",
    checked: "always",
    state: "always",
    type: "boolean, default false",
    doc: "Let delete remove the store (an adopted one too) while it still holds secrets, and them. Without it, deleting a store this resource created fails when it holds secrets and says how many.",
    example: "forceDestroy: true",
  }),
  accountId: accountIdField("The account that holds the store.", '"0123456789abcdef0123456789abcdef"'),
  created: field<never, string>()({ out: "declared", state: "always", type: "string", doc: "When the store was created (RFC 3339)." }),
  modified: field<never, string>()({ out: "declared", state: "always", type: "string", doc: "When the store was last modified (RFC 3339)." }),
};

export type SecretsStoreFields = typeof SECRETS_STORE;
export type SecretsStoreDeclaredArgs = ArgsOf<SecretsStoreFields>;
export type SecretsStoreInputs = InputsOf<SecretsStoreFields>;
export type SecretsStoreState = StateOf<SecretsStoreFields>;
