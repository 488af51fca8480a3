/** Turning errors into what the engine shows: check failures and partial-creation errors. */
import { CloudflareApiError } from "../api/error";
import { ConfigError } from "./config";
import type { CheckFailure } from "./rules";
import { knownPlaintexts } from "./values";

/**
 * A check-time error as a check failure, so `pulumi preview` shows it on the resource instead of
 * crashing. Errors that are neither configuration nor API errors are rethrown.
 */
export function asCheckFailure(err: unknown, property = ""): CheckFailure {
  if (err instanceof ConfigError) return { property: err.property, reason: err.message };
  if (err instanceof CloudflareApiError) return { property, reason: err.message };
  throw err;
}

/**
 * The error a create (or update) throws after Cloudflare already holds the object: the engine
 * keeps `id` and `properties` in the state and retries on the next `up`, so nothing is orphaned.
 * `properties` must include the inputs (they carry `__provider`).
 */
export function partialFailure(err: unknown, id: string, properties: Record<string, unknown>): Error {
  const message = err instanceof Error ? err.message : String(err);
  const failure = new Error(`${message} (the object exists as ${id}; the next \`pulumi up\` finishes the change)`);
  Object.assign(failure, { id, properties, reasons: [message] });
  return failure;
}

/** The result `read` returns for an object that no longer exists: the engine drops it from the state. */
export const GONE = { id: "", props: {} } as const;

/** `["accountId"]` when the resource moves to another account (which replaces every kind of resource). */
export function accountReplaces(olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
  return news.accountId !== undefined && news.accountId !== olds.accountId ? ["accountId"] : [];
}

const REDACTED = "[secret value redacted]";

/**
 * The input under which a resource passes the names of the inputs its program marked secret
 * (`pulumi.secret(...)`, `config.requireSecret(...)`, or an Output derived from one).
 *
 * The provider process cannot tell them otherwise: `@pulumi/pulumi`'s dynamic provider host
 * answers Configure with `acceptSecrets: false`, so the engine strips every secret marker before it
 * sends Check, Diff, Create, Update, Read and Delete (`MarshalProperties` with `KeepSecrets: false`
 * in the engine's `provider_plugin.go`), and the host unwraps the secret config values it is given
 * (`rpc.unwrapRpcSecret` in `cmd/dynamic-provider/index.js`) before `configure` sees them. Only the
 * program, where the resource's arguments are Outputs, knows (`pulumi.isSecret`). This key carries
 * names only, never a value; it is taken off before the provider's own methods see the inputs and
 * kept in what they return (checked inputs, outputs), so the state holds it for later runs.
 */
export const SECRET_INPUTS_KEY = "__secretInputs";

/** Values of inputs marked secret, seen by this process (a step's Check and Create/Update reach the same process). */
const markedValues = new Set<string>();

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every string inside `v` (itself, array items, object values), depth-first. */
function strings(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 16) return out;
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out, depth + 1);
  else if (isRecord(v)) for (const x of Object.values(v)) strings(x, out, depth + 1);
  return out;
}

/** The names `props` lists under {@link SECRET_INPUTS_KEY}, or undefined when it lists none. */
function markedNames(props: unknown): string[] | undefined {
  const names = isRecord(props) ? props[SECRET_INPUTS_KEY] : undefined;
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string") : undefined;
}

/**
 * `args` with {@link SECRET_INPUTS_KEY} taken off every object argument, after remembering the
 * values of the inputs it names; and the names the last object argument (the new inputs, or the
 * state of a read or delete) listed.
 */
function takeMarks<A extends unknown[]>(args: A): { args: A; names?: string[] } {
  let names: string[] | undefined;
  const out = args.map((arg) => {
    if (!isRecord(arg)) return arg;
    const listed = markedNames(arg);
    names = listed;
    if (!(SECRET_INPUTS_KEY in arg)) return arg;
    for (const name of listed ?? []) for (const value of strings(arg[name])) markedValues.add(value);
    const rest = { ...arg };
    delete rest[SECRET_INPUTS_KEY];
    return rest;
  }) as A;
  return { args: out, names };
}

/** `result` with the names kept in what it hands back to the engine (checked inputs, outputs, read state). */
function keepMarks<R>(result: R, names: string[] | undefined): R {
  if (!names || !isRecord(result)) return result;
  const copy: Record<string, unknown> = { ...result };
  for (const key of ["inputs", "outs", "props"]) {
    const part = copy[key];
    // An empty read state (the object is gone) stays empty: the engine drops the resource.
    if (isRecord(part) && !(key === "props" && copy.id === "")) copy[key] = { ...part, [SECRET_INPUTS_KEY]: names };
  }
  return copy as R;
}

/**
 * `text` with every secret value this process holds, and every value of an input the program
 * marked secret, replaced. Values shorter than 4 characters are left: replacing them would garble
 * ids and numbers, and they cannot be kept secret anyway.
 */
function redact(text: string): string {
  let out = text;
  for (const values of [knownPlaintexts(), markedValues]) for (const value of values) if (value.length >= 4) out = out.split(value).join(REDACTED);
  return out;
}

/**
 * `fn` whose errors and check failures never carry a secret value this process holds, nor a value
 * of an input the program marked secret (see {@link SECRET_INPUTS_KEY}): an API may echo a request
 * body in its error message, a check failure may name what it refused, and the engine stores error
 * messages in the state.
 */
export function scrubbed<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...given: A) => {
    let result: R;
    let names: string[] | undefined;
    try {
      const taken = takeMarks(given);
      names = taken.names;
      result = await fn(...taken.args);
    } catch (err) {
      if (err instanceof Error) {
        err.message = redact(err.message);
        if (err.stack) err.stack = redact(err.stack);
        const withReasons = err as Error & { reasons?: unknown; properties?: unknown };
        if (Array.isArray(withReasons.reasons)) withReasons.reasons = withReasons.reasons.map((r: unknown) => (typeof r === "string" ? redact(r) : r));
        // A partial failure's properties become the state's outputs: they keep the names too.
        if (names && isRecord(withReasons.properties)) withReasons.properties = { ...withReasons.properties, [SECRET_INPUTS_KEY]: names };
      }
      throw err;
    }
    const failures = (result as { failures?: CheckFailure[] } | undefined)?.failures;
    if (Array.isArray(failures)) for (const f of failures) f.reason = redact(f.reason);
    return keepMarks(result, names);
  };
}
