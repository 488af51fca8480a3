/**
 * One declaration per resource: each field once, with its types, its role (argument, output,
 * what check stores), whether it is secret, its preview-time rule, doc and example. From it come
 * the program's Args and outputs types (checked against the written-out interfaces, which carry
 * the TSDoc an IDE shows), the runtime's inputs and state types, the inputs each kind takes
 * (`ALLOWED_INPUTS`, the "takes: …" hint), the output placeholders a resource class passes, and
 * the README's argument and output tables (`npm run readme-tables`).
 *
 * Nothing here may import runtime code: the program side and the provider side both import it.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The types of one field: as the program passes it, as check and the state keep it, as the program reads it. */
export interface FieldTypes<Arg, Value, Out> {
  arg: Arg;
  value: Value;
  out: Out;
}

/** What one field is, besides its types. */
export interface FieldSpec {
  /** The program passes it: `required` or `optional`. Absent: the provider sets it. */
  readonly arg?: "required" | "optional";
  /**
   * The resource class exposes it as an output. `declared`: the class passes the key (undefined
   * when the program did not set it), so the output exists and takes what the provider returns;
   * `computed`: the class sets the output itself (from a child resource) and never sends it.
   */
  readonly out?: "declared" | "computed";
  /**
   * In the checked inputs (what check answers and the state keeps as inputs): `always` (check
   * fills a default) or `optional`. Absent: only create/read/update set it.
   */
  readonly checked?: "always" | "optional";
  /** In the state after create/read/update: `always` or `optional`. Absent: never in the state. */
  readonly state?: "always" | "optional";
  /** Made a Pulumi secret by the resource class whatever the program passes. */
  readonly secret?: boolean;
  /** The rule preview checks, in words (for the README). */
  readonly preview?: string;
  /** The README's type column. */
  readonly type: string;
  /** What it is: the README's description column (Markdown). */
  readonly doc: string;
  /** What the output holds, where that differs from `doc` (a field that is an argument and an output). */
  readonly outDoc?: string;
  /** An example, as the program writes it. */
  readonly example?: string;
  /** Not listed in the README's tables (internal: what check stores for create, or a state detail). */
  readonly hidden?: boolean;
}

/** A declared field: its spec, and its types as a phantom. */
export type Field<Arg = unknown, Value = unknown, Out = unknown> = FieldSpec & { readonly __types?: FieldTypes<Arg, Value, Out> };

/**
 * Declares one field: `field<Arg, Value, Out>()({ ...spec })`. The type arguments: the argument's
 * type as the program passes it (`never` for an output), the value check and the state keep, and
 * the output's type (default: the value). (Two calls, so the spec's literals are inferred.)
 */
export const field =
  <Arg, Value, Out = Value>() =>
  <S extends FieldSpec>(spec: S): S & { readonly __types?: FieldTypes<Arg, Value, Out> } =>
    spec;

/**
 * The optional `accountId` argument that every resource a program writes takes; in the state, the
 * account the provider resolved. `outDoc`: what the output says; `example`: as the TSDoc shows it.
 */
export const accountIdField = (outDoc: string, example: string) =>
  field<pulumi.Input<string>, string>()({
    arg: "optional",
    out: "declared",
    checked: "optional",
    state: "always",
    preview: "32 lowercase hex characters; the token can read the account",
    type: "string",
    doc: "The account; see configuration.",
    outDoc,
    example,
  });

/** A resource's declaration: its fields, in the order the "takes: …" hint lists them. */
export type Declaration = Record<string, Field>;

type TypesOf<F> = F extends { readonly __types?: infer T } ? NonNullable<T> : never;
type ArgOf<F> = TypesOf<F> extends FieldTypes<infer A, unknown, unknown> ? A : never;
type ValueOf<F> = TypesOf<F> extends FieldTypes<unknown, infer V, unknown> ? V : never;
type OutOf<F> = TypesOf<F> extends FieldTypes<unknown, unknown, infer O> ? O : never;

/** The keys of `D` whose spec has `P` set to `V`. */
type KeysWhere<D extends Declaration, P extends keyof FieldSpec, V> = { [K in keyof D]: D[K][P] extends V ? K : never }[keyof D] & string;

type Flat<T> = { [K in keyof T]: T[K] };

/** The program's arguments (the Args interface, without its TSDoc). */
export type ArgsOf<D extends Declaration> = Flat<
  { [K in KeysWhere<D, "arg", "required">]: ArgOf<D[K]> } & { [K in KeysWhere<D, "arg", "optional">]?: ArgOf<D[K]> }
>;

/** The checked inputs: what check answers, and the inputs create, diff and update get. */
export type InputsOf<D extends Declaration> = Flat<
  { [K in KeysWhere<D, "checked", "always">]: ValueOf<D[K]> } & { [K in KeysWhere<D, "checked", "optional">]?: ValueOf<D[K]> } & {
    /** The serialized provider the engine keeps with the inputs. */
    __provider?: string;
  }
>;

/** The state after create, read or update. */
export type StateOf<D extends Declaration> = Flat<
  { [K in KeysWhere<D, "state", "always">]: ValueOf<D[K]> } & { [K in KeysWhere<D, "state", "optional">]?: ValueOf<D[K]> } & { __provider?: string }
>;

/** The outputs a resource class declares (`declare readonly x: pulumi.Output<…>` or set in its constructor), as their types. */
export type OutputsOf<D extends Declaration> = Flat<{ [K in KeysWhere<D, "out", "declared" | "computed">]: OutOf<D[K]> }>;

/** The inputs a kind takes on the wire: its arguments, its declared outputs' placeholders, and what its check stores. */
export const allowedInputs = (d: Declaration): string[] =>
  Object.entries(d)
    .filter(([, f]) => f.arg !== undefined || f.out === "declared" || f.checked !== undefined)
    .map(([k]) => k);

/** The inputs a kind takes that the program does not pass (outputs, and what check stores). */
export const outputOnly = (d: Declaration): string[] =>
  Object.entries(d)
    .filter(([, f]) => f.arg === undefined && (f.out === "declared" || f.checked !== undefined))
    .map(([k]) => k);

/** The keys a resource class passes as undefined so their outputs exist: its declared outputs. */
export const outputPlaceholders = (d: Declaration): Record<string, undefined> =>
  Object.fromEntries(
    Object.entries(d)
      .filter(([, f]) => f.out === "declared")
      .map(([k]) => [k, undefined]),
  );

/** Compile-time equality: `Assert<Equal<A, B>>` fails tsc unless A and B are the same type. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export type Assert<T extends true> = T;

/** `T`'s properties that are Pulumi outputs, but the `id` and `urn` every resource has. */
type OutputKeys<T> = Exclude<{ [K in keyof T]: T[K] extends pulumi.Output<unknown> ? K : never }[keyof T], "id" | "urn">;

/**
 * Whether resource class `C` declares exactly the outputs of `D`, each as `pulumi.Output` of its
 * declared type: `Assert<ClassMatches<StoreSecret, typeof STORE_SECRET>>`.
 */
export type ClassMatches<C, D extends Declaration> =
  Equal<OutputKeys<C>, keyof OutputsOf<D>> extends true
    ? Equal<{ readonly [K in keyof OutputsOf<D>]: pulumi.Output<OutputsOf<D>[K]> }, Pick<C, keyof OutputsOf<D> & keyof C>>
    : false;
