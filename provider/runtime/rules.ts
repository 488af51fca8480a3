/**
 * Input rules shared by every resource: what a valid name, scope list or value is, and the
 * check-failure shape the engine shows. Every failure names the property, the rule and the fix.
 */
import { z } from "zod";

/** The engine's placeholder for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const isUnknown = (v: unknown): boolean =>
  v === UNKNOWN || (Array.isArray(v) && v.some(isUnknown));

export interface CheckFailure {
  property: string;
  reason: string;
}

/** Scopes as Cloudflare spells them on the wire. */
export const SCOPES = ["workers", "ai_gateway", "dex", "access", "containers", "websearch"] as const;
export type Scope = (typeof SCOPES)[number];

/** Secret names: letters, digits, `_` and `-` (wrangler's rule; the docs say "no spaces"). */
export const SECRET_NAME = /^[A-Za-z0-9_-]+$/;
/** Binding names are JavaScript identifiers (`env.STRIPE_KEY`). */
export const BINDING_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** The documented product limit per secret value. */
export const DOCUMENTED_VALUE_BYTES = 1024;
/** The API's hard limit per secret value. */
export const API_VALUE_BYTES = 65536;

/**
 * Reads `news[key]` with a zod schema. Unknown values (preview) pass as `undefined`; a wrong type
 * adds a failure naming the property and the expected type.
 */
export function field<T>(
  news: Record<string, unknown>,
  key: string,
  schema: z.ZodType<T>,
  failures: CheckFailure[],
  expected: string,
): T | undefined {
  const raw = news[key];
  if (isUnknown(raw)) return undefined;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  failures.push({ property: key, reason: `\`${key}\` must be ${expected}.` });
  return undefined;
}

/** Checks a secret name; returns a failure reason or undefined. */
export function secretNameProblem(property: string, name: string): string | undefined {
  if (name.length === 0) return `\`${property}\` must not be empty. Use letters, digits, \`_\` and \`-\`, for example "stripe_api_key".`;
  if (!SECRET_NAME.test(name)) {
    const hint = name.replace(/[^A-Za-z0-9_-]+/g, "_");
    return `\`${property}\` "${name}" may only contain letters, digits, \`_\` and \`-\` (no spaces). Rename it, for example to "${hint}".`;
  }
  return undefined;
}

/**
 * Normalises scopes: `ai-gateway` becomes `ai_gateway`, duplicates go, the result is sorted (the
 * API returns scopes sorted, so order never causes a diff). Adds failures for empty or unknown scopes.
 */
export function normalizeScopes(property: string, scopes: string[], failures: CheckFailure[]): string[] {
  const out = new Set<string>();
  for (const s of scopes) {
    const scope = s.trim().toLowerCase().replace(/-/g, "_");
    if (!(SCOPES as readonly string[]).includes(scope)) {
      failures.push({
        property,
        reason: `\`${property}\` has an unknown scope "${s}". Use any of: ${SCOPES.join(", ")} (\`ai-gateway\` is accepted as \`ai_gateway\`).`,
      });
      continue;
    }
    out.add(scope);
  }
  if (scopes.length === 0) {
    failures.push({
      property,
      reason: `\`${property}\` must name at least one scope, for example ["workers"] for a secret bound to Workers.`,
    });
  }
  return [...out].sort();
}

/** Checks a value's size in UTF-8 bytes against the documented and the API limit. */
export function valueSizeProblem(value: string, allowLargeValue: boolean): string | undefined {
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes === 0) return "`value` must not be empty: Cloudflare refuses an empty secret.";
  if (bytes > API_VALUE_BYTES) {
    return `\`value\` is ${bytes} bytes in UTF-8; the API accepts at most ${API_VALUE_BYTES}. Store a shorter value (or a reference to it).`;
  }
  if (bytes > DOCUMENTED_VALUE_BYTES && !allowLargeValue) {
    return `\`value\` is ${bytes} bytes in UTF-8; Secrets Store documents a limit of ${DOCUMENTED_VALUE_BYTES} bytes and larger values are reported to fail when a Worker is deployed. Shorten it, or set \`allowLargeValue: true\` to allow up to ${API_VALUE_BYTES} bytes.`;
  }
  return undefined;
}

export const sameSet = (a: readonly string[] = [], b: readonly string[] = []): boolean =>
  a.length === b.length && [...a].sort().join("\u0000") === [...b].sort().join("\u0000");
