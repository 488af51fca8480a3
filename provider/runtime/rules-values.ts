/**
 * What a valid name, id, scope list, comment or value is: the rules every resource shares, each as
 * a failure reason that names the property, the rule and the fix, and never repeats the input.
 */
import type { CheckFailure } from "./rules-inputs";

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
 * Longest secret name, in characters. Cloudflare documents no limit (the docs say only "no
 * spaces"; wrangler checks the characters, not the length), so this one is chosen: long enough for
 * any real name, short enough that a value pasted into `name` by mistake is refused.
 */
export const MAX_SECRET_NAME_LENGTH = 255;
/** Longest store name, in characters (chosen, as the emulator's 1–255; Cloudflare documents none). */
export const MAX_STORE_NAME_LENGTH = 255;
/** Longest binding name, in characters (chosen; Cloudflare and wrangler document none). */
export const MAX_BINDING_NAME_LENGTH = 255;
/** Longest comment, in characters (chosen; the API schema gives `comment` no limit). */
export const MAX_COMMENT_LENGTH = 1024;
/** Longest Worker name: 63 characters, as wrangler checks (`workerNameLengthLimit`). */
export const MAX_WORKER_NAME_LENGTH = 63;
/** Worker names: lowercase letters, digits, `-` and `_`, starting with a letter or digit (the API's rule). */
export const WORKER_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/**
 * Account, store and secret ids: 32 lowercase hexadecimal characters (the API schema's
 * identifiers, `maxLength: 32`). They become parts of API paths, so nothing else may reach one.
 */
export const HEX_ID = /^[0-9a-f]{32}$/;

/** Failure reason for an id that is not 32 lowercase hex characters, or undefined. Never repeats the input. */
export function idProblem(property: string, id: string, what: string, example: string): string | undefined {
  if (HEX_ID.test(id)) return undefined;
  const how = id.length === 0 ? "it is empty" : id.length !== 32 ? `it has ${id.length} characters` : "it has characters other than 0-9 and a-f";
  return `\`${property}\` must be ${what}: 32 lowercase hexadecimal characters (${how}). Pass ${example}.`;
}

/** Describes the characters of `text` that `allowed` refuses, by code point and position, without repeating the text. */
export function badCharacters(text: string, allowed: RegExp): string {
  const seen = new Map<string, number>();
  let i = 0;
  for (const ch of text) {
    if (!allowed.test(ch) && !seen.has(ch)) seen.set(ch, i);
    i += 1;
    if (seen.size >= 4) break;
  }
  return [...seen].map(([ch, at]) => `${describeChar(ch)} at position ${at + 1}`).join(", ");
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const code = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  if (ch === " ") return `a space (${code})`;
  if (/^[\x21-\x7e]$/.test(ch)) return `"${ch}"`;
  return code;
}

import { encodingProblem } from "../fields/wire";

export { encodingProblem };

/** Checks a secret name; returns a failure reason or undefined. The reason never repeats the name. */
export function secretNameProblem(property: string, name: string): string | undefined {
  if (name.length === 0) return `\`${property}\` must not be empty. Use letters, digits, \`_\` and \`-\`, for example "stripe_api_key".`;
  if (name.length > MAX_SECRET_NAME_LENGTH)
    return `\`${property}\` is ${name.length} characters long; at most ${MAX_SECRET_NAME_LENGTH} are allowed. Shorten it.`;
  if (!SECRET_NAME.test(name)) {
    return `\`${property}\` may only contain letters, digits, \`_\` and \`-\` (no spaces, dots or slashes); it has ${badCharacters(name, /[A-Za-z0-9_-]/)}. Replace those, for example with \`_\`.`;
  }
  return undefined;
}

/** Checks a store name (the same characters as a secret name, 1–255 of them). */
export function storeNameProblem(name: string): string | undefined {
  if (name.length === 0)
    return '`name` must not be empty. Use letters, digits, `_` and `-`, for example "default_secrets_store" (the store Cloudflare creates for an account).';
  if (name.length > MAX_STORE_NAME_LENGTH) return `\`name\` is ${name.length} characters long; at most ${MAX_STORE_NAME_LENGTH} are allowed. Shorten it.`;
  if (!SECRET_NAME.test(name)) {
    return `\`name\` may only contain letters, digits, \`_\` and \`-\`; it has ${badCharacters(name, /[A-Za-z0-9_-]/)}. Use the store's name as the dashboard shows it, for example "default_secrets_store".`;
  }
  return undefined;
}

/** Checks a binding name: a JavaScript identifier of at most 255 characters. */
export function bindingNameProblem(name: string): string | undefined {
  const how = 'Use letters, digits, `_` or `$`, not starting with a digit, for example "STRIPE_KEY".';
  if (name.length === 0) return `\`bindingName\` must not be empty: the Worker reads the secret as \`env.<bindingName>\`. ${how}`;
  if (name.length > MAX_BINDING_NAME_LENGTH)
    return `\`bindingName\` is ${name.length} characters long; at most ${MAX_BINDING_NAME_LENGTH} are allowed. Shorten it.`;
  if (!BINDING_NAME.test(name)) {
    const where = /^[0-9]/.test(name) ? "it starts with a digit" : `it has ${badCharacters(name, /[A-Za-z0-9_$]/)}`;
    return `\`bindingName\` is not a JavaScript identifier (${where}), so the Worker could not read \`env.<bindingName>\`. ${how}`;
  }
  return undefined;
}

/** Checks a Worker name as the API takes it. */
export function scriptNameProblem(name: string): string | undefined {
  if (WORKER_NAME.test(name)) return undefined;
  const where =
    name.length === 0
      ? "it is empty"
      : name.length > MAX_WORKER_NAME_LENGTH
        ? `it is ${name.length} characters long`
        : /^[_-]/.test(name)
          ? "it starts with `-` or `_`"
          : `it has ${badCharacters(name, /[a-z0-9_-]/)}`;
  return `\`scriptName\` is not a Worker name (${where}): use 1–${MAX_WORKER_NAME_LENGTH} lowercase letters, digits, \`-\` or \`_\`, as in your wrangler config's \`name\`.`;
}

/** Checks a comment: at most 1,024 characters, well-formed, no control characters but tab and newline. */
export function commentProblem(comment: string): string | undefined {
  if (comment.length > MAX_COMMENT_LENGTH)
    return `\`comment\` is ${comment.length} characters long; at most ${MAX_COMMENT_LENGTH} are allowed. Shorten it (it is a note shown in the dashboard).`;
  const encoding = encodingProblem("comment", comment);
  if (encoding) return encoding;
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u0008\u000b-\u001f\u007f]/.test(comment)) return "`comment` contains control characters (other than tab and newline). Remove them.";
  return undefined;
}

/**
 * Checks and normalises scopes: each must be one of {@link SCOPES} exactly as written there
 * (`ai-gateway`, the docs' spelling, is accepted as `ai_gateway`), listed once; the result is
 * sorted (the API returns scopes sorted, so order never causes a diff). Case, padding and
 * repetition are refused rather than fixed silently: the program should say what is applied.
 */
export function normalizeScopes(property: string, scopes: string[], failures: CheckFailure[]): string[] {
  const out = new Set<string>();
  const known = (SCOPES as readonly string[]).includes.bind(SCOPES);
  scopes.forEach((s, i) => {
    const scope = s === "ai-gateway" ? "ai_gateway" : s;
    if (!known(scope)) {
      const near = s.trim().toLowerCase().replace(/-/g, "_");
      const hint = known(near) ? ` Write it exactly "${near}" (lowercase, no spaces).` : "";
      const shown = s.length <= 32 && /^[\x20-\x7e]*$/.test(s) ? ` "${s}"` : "";
      failures.push({
        property,
        reason: `\`${property}\` has an unknown scope${shown} (item ${i + 1}).${hint} Use any of: ${SCOPES.join(", ")} (\`ai-gateway\` is accepted as \`ai_gateway\`).`,
      });
      return;
    }
    if (out.has(scope)) {
      failures.push({ property, reason: `\`${property}\` lists "${scope}" more than once (item ${i + 1}). List each scope once.` });
      return;
    }
    out.add(scope);
  });
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
  if (bytes === 0)
    return "`value` must not be empty: Cloudflare refuses an empty secret. Pass the secret's value (for example from `cfg.requireSecret(...)`), or check that the config key or environment variable it comes from is set.";
  if (value.trim() === "")
    return "`value` is only whitespace, which is never a real secret: the config key or environment variable it comes from is probably wrong. Pass the secret's value.";
  const encoding = encodingProblem("value", value);
  if (encoding) return encoding;
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
