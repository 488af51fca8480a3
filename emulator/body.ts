/**
 * Request bodies: JSON whatever the Content-Type says (wrangler sends text/plain), and
 * multipart/form-data carrying a JSON object in one of two shapes:
 *  - one part holding JSON (`name="settings"`, often with a filename and
 *    `Content-Type: application/json`; SDK 5.x, wrangler, our provider), which Cloudflare takes;
 *  - one text field per leaf in bracket notation (`settings[bindings][][type]`; SDK 7.x), which
 *    Cloudflare rejects ("Missing settings part", cloudflare-typescript#2648 and #2799), so it is
 *    only accepted when the emulator is started with `acceptBracketMultipart`.
 */
import { apiError } from "./envelope";

/** `undefined` for an empty body; a 400 (code 6007, as Cloudflare answers) for malformed JSON. */
export function parseJson(body: Buffer): unknown {
  const text = body.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw apiError(400, 6007, "Malformed JSON in request body");
  }
}

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
  /** The error code for a part that is not JSON. */
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
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw apiError(400, rules.invalidCode, `The "${name}" part must hold JSON`);
    }
  }
  const root: Record<string, unknown> = {};
  let found = false;
  if (rules.allowBrackets) {
    for (const [key, value] of form.entries()) {
      if (!key.startsWith(`${name}[`)) continue;
      const segments = bracketSegments(key);
      if (!segments) throw apiError(400, rules.invalidCode, `Malformed form field name "${key}"`);
      assign(root, segments, await entryText(value));
      found = true;
    }
  }
  if (!found) throw apiError(400, rules.missing.code, rules.missing.message);
  return root[name];
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

const isIndex = (segment: string | undefined): boolean => segment === "" || (segment !== undefined && /^\d+$/.test(segment));

type Node = Record<string, unknown> | unknown[];

/**
 * Put `value` at `segments` below `container`. Array elements are not numbered in the SDK's
 * encoding (`[]`), so a new element starts when the next field would overwrite a key the
 * current last element already has.
 */
export function assign(container: Node, segments: string[], value: unknown): void {
  const [head = "", ...rest] = segments;
  if (Array.isArray(container)) {
    if (rest.length === 0) {
      if (head === "") container.push(value);
      else container[Number(head)] = value;
      return;
    }
    let target: unknown;
    if (head === "") {
      target = container[container.length - 1];
      if (!isContainer(target, isIndex(rest[0])) || collides(target as Node, rest)) {
        target = isIndex(rest[0]) ? [] : {};
        container.push(target);
      }
    } else {
      const idx = Number(head);
      target = container[idx];
      if (!isContainer(target, isIndex(rest[0]))) {
        target = isIndex(rest[0]) ? [] : {};
        container[idx] = target;
      }
    }
    assign(target as Node, rest, value);
    return;
  }
  if (rest.length === 0) {
    container[head] = value;
    return;
  }
  let child = container[head];
  if (!isContainer(child, isIndex(rest[0]))) {
    child = isIndex(rest[0]) ? [] : {};
    container[head] = child;
  }
  assign(child as Node, rest, value);
}

function isContainer(value: unknown, wantArray: boolean): boolean {
  return typeof value === "object" && value !== null && Array.isArray(value) === wantArray;
}

/** Would assigning at `segments` overwrite a leaf already in `node`? Arrays absorb (never collide). */
function collides(node: Node, segments: string[]): boolean {
  if (Array.isArray(node)) return false;
  const [head = "", ...rest] = segments;
  const child = node[head];
  if (child === undefined) return false;
  if (rest.length === 0) return true;
  if (typeof child !== "object" || child === null) return true;
  return collides(child as Node, rest);
}
