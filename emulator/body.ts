/**
 * Request bodies: JSON whatever the Content-Type says (wrangler sends text/plain), and
 * multipart/form-data carrying a JSON object in one of two shapes:
 *  - one part holding JSON (`name="settings"`, often with a filename and
 *    `Content-Type: application/json`; SDK 5.x, wrangler, our provider), which Cloudflare takes;
 *  - one text field per leaf in bracket notation (`settings[bindings][][type]`; SDK 7.x), which
 *    Cloudflare rejects ("Missing settings part", cloudflare-typescript#2648 and #2799), so it is
 *    only accepted when the emulator is started with `acceptBracketMultipart`.
 *
 * Whatever a client sends, parsing answers a 4xx envelope or a value that is safe to keep:
 * bounded size (see the limits below), bounded nesting, no `__proto__` keys, and objects rebuilt
 * from bracket fields have null prototypes, so no request can reach `Object.prototype`.
 */
import { ApiError, apiError } from "./envelope";

/** Default body limit of every route (JSON, settings multipart, hooks): 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** `POST …/stores/:s/secrets`: a whole quota of maximum-size (65,536-byte) values fits: 8 MiB. */
export const MAX_SECRETS_BODY_BYTES = 8 * 1024 * 1024;
/** Worker uploads (`PUT …/scripts/:name`, `POST …/scripts/:name/versions`): 32 MiB. */
export const MAX_UPLOAD_BODY_BYTES = 32 * 1024 * 1024;
/** Deepest nesting of arrays and objects a JSON body (or JSON part) may have. */
export const MAX_JSON_DEPTH = 64;
/** Most segments a bracket-notation field name may have (`a[b][][c]` has 4). */
export const MAX_BRACKET_SEGMENTS = 16;
/** Largest explicit index in a bracket-notation field (`a[tags][3]`); indices must not leave holes either. */
export const MAX_BRACKET_INDEX = 1000;

/** Keys that would reach or replace a prototype when used to build objects. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const malformed = (detail?: string) => apiError(400, 6007, detail ? `Malformed JSON in request body: ${detail}` : "Malformed JSON in request body");

/**
 * Parse `text` as JSON, refusing (with `fail(detail)`) text that is not JSON, nests deeper than
 * MAX_JSON_DEPTH, or has a `__proto__` key anywhere.
 */
export function parseJsonText(text: string, fail: (detail?: string) => ApiError): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw fail();
  }
  const problem = jsonShapeProblem(value);
  if (problem) throw fail(problem);
  return value;
}

/** Why `value` (parsed JSON) may not be kept, or undefined. Iterative: deep input cannot overflow the stack. */
export function jsonShapeProblem(value: unknown): string | undefined {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { node, depth } = top;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (Array.isArray(node)) {
      for (const child of node) stack.push({ node: child, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(node)) {
      if (key === "__proto__") return 'the key "__proto__" is not allowed';
      stack.push({ node: (node as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return undefined;
}

/** Content types that announce a form, never JSON. */
const FORM_TYPES = /^\s*(multipart\/|application\/x-www-form-urlencoded)/i;

/**
 * `undefined` for an empty body; a 400 (code 6007, as Cloudflare answers) for malformed or unsafe
 * JSON. Any Content-Type is taken (wrangler sends JSON as text/plain) except a form's.
 */
export function parseJson(body: Buffer, contentType = ""): unknown {
  if (FORM_TYPES.test(contentType)) {
    throw apiError(400, 6007, `Malformed JSON in request body: expected JSON, got Content-Type "${contentType.split(";")[0]}"`);
  }
  const text = body.toString("utf8");
  if (text.trim() === "") return undefined;
  return parseJsonText(text, malformed);
}

/** The form a multipart/form-data body holds, or a 400 with `errorCode` for another type or a broken body. */
export async function parseMultipart(body: Buffer, contentType: string, errorCode: number): Promise<FormData> {
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw apiError(400, errorCode, `Expected a multipart/form-data body, got Content-Type "${contentType || "(none)"}"`);
  }
  try {
    return await new Response(new Uint8Array(body), { headers: { "content-type": contentType } }).formData();
  } catch {
    throw apiError(400, errorCode, "Malformed multipart/form-data body");
  }
}

async function entryText(value: string | Blob): Promise<string> {
  return typeof value === "string" ? value : await value.text();
}

export interface FormObjectRules {
  /** Also rebuild the object from bracket-notation fields `name[...]` (SDK 7.x); real Cloudflare does not. */
  allowBrackets: boolean;
  /** The error when there is no part called `name`. */
  missing: { code: number; message: string };
  /** The error code for a part that is not JSON, or a field name that cannot be used. */
  invalidCode: number;
}

/**
 * The JSON object a form carries in its part called `name` (text or file), or, when
 * `rules.allowBrackets`, in bracket-notation fields `name[...]`.
 */
export async function formObject(form: FormData, name: string, rules: FormObjectRules): Promise<unknown> {
  const single = form.get(name);
  if (single !== null) {
    const text = await entryText(single);
    return parseJsonText(text, (detail) => apiError(400, rules.invalidCode, `The "${name}" part must hold JSON${detail ? ` (${detail})` : ""}`));
  }
  const root: Node = Object.create(null) as Record<string, unknown>;
  let found = false;
  if (rules.allowBrackets) {
    for (const [key, value] of form.entries()) {
      if (!key.startsWith(`${name}[`)) continue;
      const segments = bracketSegments(key);
      const problem = segments ? segmentsProblem(segments) : "unbalanced brackets";
      if (problem || !segments) throw apiError(400, rules.invalidCode, `Malformed form field name "${key.slice(0, 200)}": ${problem ?? "unbalanced brackets"}`);
      const placed = assign(root, segments, await entryText(value));
      if (!placed) throw apiError(400, rules.invalidCode, `Malformed form field name "${key.slice(0, 200)}": an index may not leave a hole in its array`);
      found = true;
    }
  }
  if (!found) throw apiError(400, rules.missing.code, rules.missing.message);
  return (root as Record<string, unknown>)[name];
}

/** `a[b][][c]` → `["a","b","","c"]`; undefined when the brackets do not balance. */
export function bracketSegments(key: string): string[] | undefined {
  const open = key.indexOf("[");
  if (open === -1) return [key];
  const segments = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^[\]]*)\]/gy;
  let consumed = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    segments.push(m[1] ?? "");
    consumed = re.lastIndex;
  }
  return consumed === rest.length ? segments : undefined;
}

/** Why these segments may not be used to build an object, or undefined. */
export function segmentsProblem(segments: string[]): string | undefined {
  if (segments.length > MAX_BRACKET_SEGMENTS) return `more than ${MAX_BRACKET_SEGMENTS} segments`;
  const forbidden = segments.find((s) => FORBIDDEN_KEYS.has(s));
  if (forbidden !== undefined) return `the key "${forbidden}" is not allowed`;
  const index = segments.find((s) => /^\d+$/.test(s) && Number(s) > MAX_BRACKET_INDEX);
  if (index !== undefined) return `index ${index.slice(0, 20)} is above ${MAX_BRACKET_INDEX}`;
  return undefined;
}

const isIndex = (segment: string | undefined): boolean => segment === "" || (segment !== undefined && /^\d+$/.test(segment));

type Node = Record<string, unknown> | unknown[];

const newNode = (array: boolean): Node => (array ? [] : (Object.create(null) as Record<string, unknown>));

/**
 * Put `value` at `segments` below `container`; false when an explicit index would leave a hole.
 * Array elements are not numbered in the SDK's encoding (`[]`), so a new element starts when the
 * next field would overwrite a key the current last element already has. New objects have null
 * prototypes, and callers check the segments with `segmentsProblem` first.
 */
export function assign(container: Node, segments: string[], value: unknown): boolean {
  const [head = "", ...rest] = segments;
  if (Array.isArray(container)) {
    if (head !== "" && Number(head) > container.length) return false;
    if (rest.length === 0) {
      if (head === "") container.push(value);
      else container[Number(head)] = value;
      return true;
    }
    let target: unknown;
    if (head === "") {
      target = container[container.length - 1];
      if (!isContainer(target, isIndex(rest[0])) || collides(target as Node, rest)) {
        target = newNode(isIndex(rest[0]));
        container.push(target);
      }
    } else {
      const idx = Number(head);
      target = container[idx];
      if (!isContainer(target, isIndex(rest[0]))) {
        target = newNode(isIndex(rest[0]));
        container[idx] = target;
      }
    }
    return assign(target as Node, rest, value);
  }
  if (rest.length === 0) {
    container[head] = value;
    return true;
  }
  let child = Object.hasOwn(container, head) ? container[head] : undefined;
  if (!isContainer(child, isIndex(rest[0]))) {
    child = newNode(isIndex(rest[0]));
    container[head] = child;
  }
  return assign(child as Node, rest, value);
}

function isContainer(value: unknown, wantArray: boolean): boolean {
  return typeof value === "object" && value !== null && Array.isArray(value) === wantArray;
}

/** Would assigning at `segments` overwrite a leaf already in `node`? Arrays absorb (never collide). */
function collides(node: Node, segments: string[]): boolean {
  if (Array.isArray(node)) return false;
  const [head = "", ...rest] = segments;
  const child = Object.hasOwn(node, head) ? node[head] : undefined;
  if (child === undefined) return false;
  if (rest.length === 0) return true;
  if (typeof child !== "object" || child === null) return true;
  return collides(child as Node, rest);
}
