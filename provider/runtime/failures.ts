/** Turning errors into what the engine shows: check failures and partial-creation errors. */
import type { CheckFailure } from "./rules";
import { knownPlaintexts } from "./values";
import { registeredSecrets } from "../api/redaction";
import { SECRET_INPUTS_KEY } from "../fields/wire";

export { registerSecretForRedaction } from "../api/redaction";

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

export { SECRET_INPUTS_KEY };

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

/** The shortest run {@link redact} replaces as a cut-off value: shorter forms are replaced only whole. */
export const MIN_REDACTED_PREFIX = 16;

const hex4 = (c: string, upper: boolean) => {
  const hex = c.charCodeAt(0).toString(16).padStart(4, "0");
  return `\\u${upper ? hex.toUpperCase() : hex}`;
};

/**
 * `value` as a JSON string's contents, as various servers write it: `JSON.stringify`'s escapes,
 * then optionally every non-ASCII UTF-16 unit as `\uXXXX` (Python's `ensure_ascii`, PHP), `/` as
 * `\/` (PHP), or `<`, `>`, `&`, U+2028 and U+2029 as `\u…` (Go's `encoding/json`).
 */
function jsonForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const forms = [json, json.replace(/[<>&\u2028\u2029]/g, (c) => hex4(c, false))];
  for (const upper of [false, true]) forms.push(json.replace(/[\u0080-\uffff]/g, (c) => hex4(c, upper)));
  for (const form of [...forms]) forms.push(form.replace(/\//g, "\\/"));
  return forms;
}

/**
 * The characters of `value`'s base64 (or base64url) that depend on `value` alone, for each of the
 * three byte alignments it can have inside a longer encoded text (an echoed body encoded whole):
 * the first and last characters, which also carry bits of the bytes around it, are left out.
 */
function base64Forms(value: string, encoding: "base64" | "base64url"): string[] {
  const bytes = Buffer.from(value, "utf8");
  return [0, 1, 2].map((shift) => {
    const text = Buffer.concat([Buffer.alloc(shift), bytes]).toString(encoding);
    return text.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6));
  });
}

/**
 * `text` URL-encoded (`encodeURIComponent`, that with `+` for spaces, and `URLSearchParams`'s form
 * encoding) and base64- and base64url-encoded (see {@link base64Forms}).
 */
function byteForms(text: string): string[] {
  const uri = encodeURIComponent(text);
  return [
    uri,
    uri.replace(/%20/g, "+"),
    new URLSearchParams({ v: text }).toString().slice(2),
    ...base64Forms(text, "base64"),
    ...base64Forms(text, "base64url"),
  ];
}

/**
 * Every form `value` can take in an error that echoes a request: raw; JSON-escaped (see
 * {@link jsonForms}), and JSON-escaped twice (a JSON body quoted inside a JSON string); and the
 * raw and the JSON-escaped value URL- or base64-encoded (an echoed form body, or a JSON body
 * echoed encoded; see {@link byteForms}). Forms shorter than 4 characters are left out.
 */
export function encodedForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const forms = [value, ...jsonForms(value), JSON.stringify(json).slice(1, -1), ...byteForms(value), ...byteForms(json)];
  return [...new Set(forms)].filter((f) => f.length >= 4);
}

/**
 * Where `form` occurs in `text`: each whole occurrence, and each run that matches the form's first
 * {@link MIN_REDACTED_PREFIX} characters or more (a value cut off by an echo's length limit, with or
 * without a truncation mark after it), as `[start, end)`.
 */
function occurrences(text: string, form: string): Array<[number, number]> {
  const head = form.slice(0, MIN_REDACTED_PREFIX);
  const found: Array<[number, number]> = [];
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, at + 1)) {
    let end = at + head.length;
    while (end - at < form.length && text[end] === form[end - at]) end++;
    found.push([at, end]);
  }
  return found;
}

/** Every value {@link redact} replaces: plaintexts this process holds, values of inputs marked secret, the API token. */
function secretValues(): Iterable<string> {
  return new Set([...knownPlaintexts(), ...markedValues, ...registeredSecrets()]);
}

/**
 * `text` with every secret value this process holds, every value of an input the program marked
 * secret, and the API token in use replaced by `[secret value redacted]`, in every form an API can
 * echo them ({@link encodedForms}), whole or cut off after at least {@link MIN_REDACTED_PREFIX}
 * characters of the form (a value shorter than that in some form is replaced only whole). Values
 * shorter than 4 characters are left: replacing them would garble ids and numbers, and they cannot
 * be kept secret anyway. Occurrences are found in the original text first, then replaced together,
 * so one replacement never hides another form from the search.
 */
export function redact(text: string): string {
  const found: Array<[number, number]> = [];
  for (const value of secretValues()) if (value.length >= 4) for (const form of encodedForms(value)) found.push(...occurrences(text, form));
  if (found.length === 0) return text;
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = "";
  let cursor = 0;
  for (const [start, end] of found) {
    if (end <= cursor) continue;
    if (start >= cursor) out += text.slice(cursor, start) + REDACTED;
    cursor = end;
  }
  return out + text.slice(cursor);
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
