/**
 * Property values as the engine handles them: plain JSON values in which a secret is the wire
 * wrapper `{"4dabf1…": "1b4706…", value}` and an unknown (preview only) is the sentinel string.
 *
 * The rules for secrets follow the Go engine (`sdk/go/common/resource/plugin/provider_plugin.go`):
 * a provider that answers Configure with `acceptSecrets: false` receives plain values, and the engine
 * copies the "secretness" of each input onto the output of the same name (`annotateSecrets`).
 */
import { SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, type Props } from "../rig/host";

export { SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, type Props };

/** The marker of an encrypted secret in the checkpoint (`{sig, ciphertext}`), as Pulumi writes it. */
export const CIPHERTEXT_KEY = "ciphertext";

/** A plain object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True for a secret wrapper `{sig: SECRET_SIG, value}`. */
export function isSecret(v: unknown): v is { value: unknown } {
  return isObject(v) && v[SECRET_SIG_KEY] === SECRET_SIG && "value" in v;
}

/** Wraps a value as a secret (idempotent). */
export function makeSecret(v: unknown): unknown {
  return isSecret(v) ? v : { [SECRET_SIG_KEY]: SECRET_SIG, value: v };
}

/** True when the value is, or holds somewhere inside it, a secret. */
export function containsSecrets(v: unknown): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecrets);
  if (isObject(v)) return Object.values(v).some(containsSecrets);
  return false;
}

/** Removes every secret wrapper, deeply: what a provider that does not accept secrets receives. */
export function stripSecrets<T>(v: T): T {
  if (isSecret(v)) return stripSecrets(v.value) as T;
  if (Array.isArray(v)) return v.map(stripSecrets) as T;
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stripSecrets(x)])) as T;
  return v;
}

/**
 * Copies secretness from `ins` onto `outs` of the same name (the Go engine's `annotateSecrets`):
 * objects on both sides recurse; otherwise an input that contains any secret makes the whole output
 * value secret (so one secret array element makes the output array secret). Returns a new map.
 */
export function annotateSecrets(outs: Props, ins: Props): Props {
  const result: Props = { ...outs };
  for (const [key, inValue] of Object.entries(ins)) {
    if (!(key in result)) continue;
    const outValue = result[key];
    if (isObject(outValue) && !isSecret(outValue) && isObject(inValue) && !isSecret(inValue)) {
      result[key] = annotateSecrets(outValue, inValue);
    } else if (!isSecret(outValue) && containsSecrets(inValue)) {
      result[key] = makeSecret(outValue);
    }
  }
  return result;
}

/**
 * Marks the top-level outputs named in `additionalSecretOutputs` secret. Returns the new map and
 * the names that were not found (the engine warns about those).
 */
export function markAdditionalSecrets(outs: Props, names: readonly string[]): { outputs: Props; missing: string[] } {
  const outputs: Props = { ...outs };
  const missing: string[] = [];
  for (const name of names) {
    if (name in outputs) outputs[name] = makeSecret(outputs[name]);
    else missing.push(name);
  }
  return { outputs, missing };
}

/** Structural equality of two property values, secret wrappers included (a secretness change is a change). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The top-level keys whose values differ between two property maps, sorted. */
export function changedKeys(olds: Props, news: Props): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !deepEqual(olds[k], news[k])).sort();
}

/** Deep-maps every secret wrapper (`{sig, value}` or `{sig, ciphertext}`) through `fn`. */
export function mapSecrets(v: unknown, fn: (wrapper: Record<string, unknown>) => unknown): unknown {
  if (isObject(v) && v[SECRET_SIG_KEY] === SECRET_SIG) return fn(v);
  if (Array.isArray(v)) return v.map((x) => mapSecrets(x, fn));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapSecrets(x, fn)]));
  return v;
}

/**
 * Renders a value for display, never showing a secret: secrets print as `[secret]`, unknowns as
 * `output<string>`, long strings are shortened.
 */
export function renderValue(v: unknown, maxLength = 80): string {
  const text = JSON.stringify(mapForDisplay(v), null, 0) ?? "undefined";
  const unquoted = text
    .split(JSON.stringify(SECRET_MARK)).join("[secret]")
    .split(JSON.stringify(UNKNOWN_MARK)).join("output<string>");
  return unquoted.length > maxLength ? `${unquoted.slice(0, maxLength - 1)}…` : unquoted;
}

const SECRET_MARK = `secret-${SECRET_SIG}`;
const UNKNOWN_MARK = `unknown-${UNKNOWN}`;

function mapForDisplay(v: unknown): unknown {
  if (isSecret(v)) return SECRET_MARK;
  if (v === UNKNOWN) return UNKNOWN_MARK;
  if (Array.isArray(v)) return v.map(mapForDisplay);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapForDisplay(x)]));
  return v;
}
