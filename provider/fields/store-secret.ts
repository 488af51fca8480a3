/** The fields of a StoreSecret, declared once (see ./declare). */
import type * as pulumi from "@pulumi/pulumi";
import type { SecretUse } from "../resources/declared-bindings";
import type { SecretRotation, SecretScope } from "../resources/store-secret";
import type { Use } from "../runtime/usage";
import { accountIdField, field, type ArgsOf, type InputsOf, type StateOf } from "./declare";

export const STORE_SECRET = {
  storeId: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "32 lowercase hex characters; the store exists",
    type: "string",
    doc: "The store. Changing it replaces the secret.",
    outDoc: "The store that holds it.",
    example: "storeId: store.id",
  }),
  name: field<pulumi.Input<string>, string>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "letters, digits, `_` and `-`, at most 255; not taken by a secret this resource does not own (unless `adopt`)",
    type: "string",
    outDoc: "The secret's name.",
    doc: "Letters, digits, `_`, `-`. Changing it replaces the secret: created anew with the value when the program holds it, otherwise copied (duplicate, then delete) so the value is kept.",
    example: 'name: "stripe_api_key"',
  }),
  value: field<pulumi.Input<string>, string>()({
    arg: "optional",
    checked: "optional",
    state: "optional",
    secret: true,
    preview: "well-formed text, not empty or only whitespace, at most 1,024 UTF-8 bytes (65,536 with `allowLargeValue`)",
    type: "Input&lt;string&gt;",
    doc: "Write-only; made a Pulumi secret even if passed plain; at most 1,024 UTF-8 bytes (65,536 with `allowLargeValue`). Omit it with `valueFrom`, `duplicateOf` or `adopt`.",
    example: 'value: new pulumi.Config().requireSecret("stripeKey")',
  }),
  valueFrom: field<{ env: string }, { env: string }>()({
    arg: "optional",
    checked: "optional",
    state: "optional",
    preview: "the environment variable is set; not with `value` or `duplicateOf`",
    type: '`{ env: "NAME" }`',
    doc: "Instead of `value`: the provider reads the environment variable `NAME` of the process running `pulumi` itself, so the value is never in the program, the config or the state. Preview fails, naming the variable, when it is unset.",
    example: 'valueFrom: { env: "STRIPE_KEY" }',
  }),
  scopes: field<pulumi.Input<pulumi.Input<SecretScope>[]>, string[]>()({
    arg: "required",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "at least one known scope, each once; removing `workers` while Workers bind the secret fails",
    type: "list of `workers`, `ai_gateway` (`ai-gateway` accepted), `dex`, `access`, `containers`, `websearch`",
    doc: "Compared as a set: order never causes a diff.",
    outDoc: "Its scopes, sorted.",
    example: 'scopes: ["workers", "ai_gateway"]',
  }),
  comment: field<pulumi.Input<string>, string>()({
    arg: "optional",
    out: "declared",
    checked: "always",
    state: "always",
    preview: "at most 1,024 characters, no control characters but tab and newline",
    type: "string",
    doc: "Free text.",
    outDoc: 'Its comment ("" when none).',
    example: 'comment: "Stripe live key, rotated by PR"',
  }),
  adopt: field<pulumi.Input<boolean>, boolean>()({
    arg: "optional",
    checked: "always",
    state: "always",
    preview: "not with `duplicateOf`; the secret exists when the program gives no value",
    type: "boolean",
    doc: "Take over an existing secret with this name; its value, scopes and comment are then set from the program.",
    example: "adopt: true",
  }),
  allowLargeValue: field<pulumi.Input<boolean>, boolean>()({
    arg: "optional",
    checked: "always",
    state: "always",
    type: "boolean",
    doc: "Allow values above the documented 1,024 bytes (users report them failing at Worker deploy).",
    example: "allowLargeValue: true",
  }),
  duplicateOf: field<pulumi.Input<{ secretId: pulumi.Input<string> }>, { secretId: string }>()({
    arg: "optional",
    checked: "optional",
    state: "optional",
    preview: "a secret id of the same store, not with `value`, `valueFrom` or `adopt`",
    type: "`{ secretId }`",
    doc: "Create as a copy of another secret's value (Cloudflare copies it; nobody reads it).",
    example: "duplicateOf: { secretId: openaiKey.id }",
  }),
  rotation: field<SecretRotation, { keepPrevious: boolean; previousName?: string }>()({
    arg: "optional",
    checked: "optional",
    state: "optional",
    preview: "the copy's name is a valid secret name, differs from `name`, and is not taken by another secret",
    type: "`{ keepPrevious, previousName? }`",
    doc: "Keep the previous value as a copy, named `<previousName>_v<n>` for the version n it holds (`previousName` defaults to `<name>_previous`). See [Rotation](#rotation).",
    example: "rotation: { keepPrevious: true }",
  }),
  deleteWhenBound: field<pulumi.Input<boolean>, boolean>()({
    arg: "optional",
    checked: "optional",
    state: "optional",
    type: "boolean, default false",
    doc: "Accept breaking Workers: let the secret (or its copy) be deleted, renamed, replaced or lose its `workers` scope while Workers outside this program bind it. See [Where each secret is used](#where-each-secret-is-used).",
    example: "deleteWhenBound: true",
  }),
  accountId: accountIdField("The account that holds it.", 'accountId: "0123456789abcdef0123456789abcdef"'),
  status: field<never, string>()({ out: "declared", state: "always", type: "string", doc: "`pending`, `active` or `deleted`." }),
  created: field<never, string>()({ out: "declared", state: "always", type: "string", doc: "When it was created (RFC 3339)." }),
  modified: field<never, string>()({ out: "declared", state: "always", type: "string", doc: "When it was last modified (RFC 3339)." }),
  valueVersion: field<never, number>()({
    out: "declared",
    checked: "always",
    state: "always",
    type: "number",
    doc: "Goes up by one each time the value changes: a rotation shows in the preview without the value.",
  }),
  /** The base of the copies' names (check stores it); the program reads the current copy's name here. */
  previousName: field<never, string, string | undefined>()({
    out: "computed",
    checked: "optional",
    state: "optional",
    type: "string",
    doc: "With `rotation.keepPrevious`: the name of the copy holding the previous value, for a fallback binding (from the copy's own resource, so a binding using it moves before the old copy is deleted).",
  }),
  copyName: field<never, string, string | undefined>()({
    out: "declared",
    checked: "optional",
    state: "optional",
    type: "string",
    doc: "The copy's name as the secret last wrote it; bind fallbacks to `previousName` instead.",
  }),
  boundBy: field<never, Use[], SecretUse[]>()({
    out: "declared",
    state: "always",
    type: "list of `{ scriptName, bindingName, secretName, managed }`",
    doc: "The Workers that bind the secret or its copy, see [Where each secret is used](#where-each-secret-is-used).",
  }),
  /** A rename without the value in the program: the secret the create copies (check stores it). */
  renameFrom: field<never, { secretId: string }>()({ checked: "optional", state: "optional", hidden: true, type: "`{ secretId }`", doc: "" }),
  /** What a rotation will do, in words a reviewer sees in the preview's diff (check stores it). */
  rotationPlan: field<never, string>()({ checked: "optional", state: "optional", hidden: true, type: "string", doc: "" }),
  previousId: field<never, string, string | undefined>()({
    out: "computed",
    state: "optional",
    type: "string",
    doc: "With `rotation.keepPrevious`: the id of that copy.",
  }),
  /** Why the next `up` writes the value again, when refresh found the secret changed outside Pulumi. */
  drift: field<never, string>()({ state: "optional", hidden: true, type: "string", doc: "" }),
};

export type StoreSecretFields = typeof STORE_SECRET;
export type StoreSecretDeclaredArgs = ArgsOf<StoreSecretFields>;
/** A StoreSecret's checked inputs: what check answers and the state keeps as its inputs. */
export type StoreSecretInputs = InputsOf<StoreSecretFields>;
/** The state after create, read or update: the inputs, and the secret as Cloudflare answered. */
export type StoreSecretState = StateOf<StoreSecretFields>;
