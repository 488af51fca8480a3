/**
 * Input rules shared by every resource: what a valid name, scope list or value is, and the
 * check-failure shape the engine shows. Every failure names the property, the rule and the fix.
 */
import { z } from "zod";
import { CloudflareApiError } from "../api/error";
import { accountIdFor, ConfigError, resolveSettings, type Settings } from "./config";
import { DECLARATIONS, type ResourceKind } from "../fields";
import { allowedInputs, outputOnly } from "../fields/declare";

/** The engine's placeholder for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const isUnknown = (v: unknown): boolean => v === UNKNOWN || (Array.isArray(v) && v.some(isUnknown));

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
/** Environment variable names accepted in `valueFrom.env`. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads `news[key]` with a zod schema. Unknown values (preview) pass as `undefined`; a wrong type
 * adds a failure naming the property and the expected type.
 */
export function field<T>(news: Record<string, unknown>, key: string, schema: z.ZodType<T>, failures: CheckFailure[], expected: string): T | undefined {
  const raw = news[key];
  if (isUnknown(raw)) return undefined;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  failures.push({
    property: key,
    reason: raw === undefined ? `\`${key}\` is required: it must be ${expected}.` : `\`${key}\` must be ${expected}, not ${typeName(raw)}.`,
  });
  return undefined;
}

/** A value's kind for messages (`a number`, `a list`), never the value itself. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return v.length === 0 ? "an empty string" : "a string";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/** `inputs` without keys whose value is undefined: the engine's wire format cannot carry them ("Unexpected struct type"). */
export function definedOnly<T extends Record<string, unknown>>(inputs: T): T {
  return Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The inputs each kind takes, from its declaration (../fields): its arguments, the output
 * placeholders its class passes as undefined, and what its own check stores, which
 * `ignoreChanges` may hand back (plus `__provider`). Anything else is a mistake in the program
 * and is refused, naming the key.
 */
export const ALLOWED_INPUTS = Object.fromEntries(Object.entries(DECLARATIONS).map(([kind, d]) => [kind, allowedInputs(d)])) as unknown as Record<
  ResourceKind,
  readonly string[]
>;

/** The inputs each kind takes that the program does not pass: left out of the "takes: …" hint. */
const OUTPUT_ONLY = Object.fromEntries(Object.entries(DECLARATIONS).map(([kind, d]) => [kind, new Set(outputOnly(d))])) as unknown as Record<
  ResourceKind,
  ReadonlySet<string>
>;

/** Adds a failure for every key of `news` that `kind` does not take. */
export function unknownInputs(kind: ResourceKind, news: Record<string, unknown>, failures: CheckFailure[]): void {
  const allowed = ALLOWED_INPUTS[kind];
  for (const key of Object.keys(news)) {
    if (key === "__provider" || allowed.includes(key)) continue;
    const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
    failures.push({
      property: shown,
      reason: `\`${shown}\` is not an argument of ${kind}. Remove it (a misspelling?); ${kind} takes: ${allowed.filter((k) => !OUTPUT_ONLY[kind].has(k)).join(", ")}.`,
    });
  }
}

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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Failure reason when `text` is not well-formed UTF-16 or holds NUL. Note that a lone surrogate
 * never reaches `check`: the SDK's protobuf encoder drops it between the program and the engine,
 * so only a program-side check (in the resource classes) can refuse it; this one catches U+FFFD,
 * what such text becomes when it passed through UTF-8.
 */
export function encodingProblem(property: string, text: string): string | undefined {
  if (LONE_SURROGATE.test(text) || text.includes("\ufffd")) {
    // A lone surrogate cannot be encoded as UTF-8: on the way here (the engine's protobuf wire) or to
    // Cloudflare it becomes U+FFFD, so the stored text would silently differ from the program's.
    return `\`${property}\` contains a lone UTF-16 surrogate or U+FFFD (the replacement character a lone surrogate turns into), so it is not the text the program meant. Fix the text's encoding where it comes from.`;
  }
  if (text.includes("\u0000")) return `\`${property}\` contains a NUL character (U+0000). Remove it.`;
  return undefined;
}

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

/** What a check-time API error is about, to name the property and the fix. */
export interface CheckContext {
  /** The account the resource works in. */
  accountId?: string;
  /** Whether the account id came from the resource's own `accountId` (else stack config or the environment). */
  ownAccountId?: boolean;
  storeId?: string;
}

/**
 * A read during check that Cloudflare refused, as a failure naming the property and the fix:
 * an unknown or revoked token, a token without access to the account, a store that does not
 * exist. Other errors (including configuration errors) become a failure with their own message.
 */
export function apiCheckFailure(err: unknown, ctx: CheckContext): CheckFailure {
  if (!(err instanceof CloudflareApiError)) {
    const e = err as { property?: unknown; message?: unknown };
    if (err instanceof Error && typeof e.property === "string") return { property: e.property, reason: err.message };
    throw err;
  }
  const account = ctx.accountId ? `account ${ctx.accountId}` : "the account";
  const accountProperty = ctx.ownAccountId ? "accountId" : "";
  const setAccount = ctx.ownAccountId
    ? "Check the resource's `accountId`"
    : "Check the account id (`pulumi config set cloudflare-secrets-store:accountId <id>` or CLOUDFLARE_ACCOUNT_ID)";
  const seen = `(Cloudflare answered ${err.status}: ${err.errors.map((e) => e.message).join("; ") || "no error message"}, on ${err.method} ${err.path})`;
  if (err.status === 401 || (err.status === 400 && err.has(6003))) {
    return {
      property: "",
      reason: `Cloudflare refused the API token: it is unknown, revoked or malformed ${seen}. Create a token with 'Account Secrets Store Edit' (and 'Workers Scripts Edit' for bindings) and set it with \`pulumi config set --secret cloudflare:apiToken <token>\` or the CLOUDFLARE_API_TOKEN environment variable.`,
    };
  }
  if (err.status === 403) {
    return {
      property: accountProperty,
      reason: `The API token has no access to ${account} ${seen}: it belongs to another account, or lacks 'Account Secrets Store Read'. ${setAccount}, or use a token made for that account.`,
    };
  }
  if (err.status === 404 && ctx.storeId !== undefined && err.path.includes(`/stores/${ctx.storeId}`)) {
    return {
      property: "storeId",
      reason: `Store ${ctx.storeId} does not exist in ${account} ${seen}. Pass the id of an existing store: \`storeId: store.id\` of a SecretsStore (\`adopt: true\` takes over the account's existing store), or the id the dashboard shows.`,
    };
  }
  if (err.status === 404) {
    return {
      property: accountProperty,
      reason: `Cloudflare does not know ${account} ${seen}. ${setAccount}: it is the 32-character id in the dashboard's URL.`,
    };
  }
  return { property: "", reason: err.message };
}

/** Reads and checks the resource's own `accountId` (32 hex characters); undefined when absent, unknown or invalid. */
export function accountIdOf(news: Record<string, unknown>, failures: CheckFailure[]): string | undefined {
  const accountId = field(news, "accountId", z.string().optional(), failures, "a Cloudflare account id (32 hexadecimal characters)");
  if (accountId === undefined) return undefined;
  const problem = idProblem(
    "accountId",
    accountId,
    "a Cloudflare account id",
    "the id from the dashboard's URL, or leave `accountId` out to use the stack's `cloudflare-secrets-store:accountId`",
  );
  if (problem) {
    failures.push({ property: "accountId", reason: problem });
    return undefined;
  }
  return accountId;
}

/** {@link resolveSettings} for a check: also refuses an account id from stack config or the environment that is not 32 hex characters. */
export function checkedSettings(resourceAccountId: string | undefined): Settings {
  const settings = resolveSettings(resourceAccountId);
  if (!HEX_ID.test(settings.accountId)) {
    throw new ConfigError(
      "",
      "The Cloudflare account id set in `cloudflare-secrets-store:accountId` or CLOUDFLARE_ACCOUNT_ID is not an account id: it must be 32 lowercase hexadecimal characters, as in the dashboard's URL. Fix it with `pulumi config set cloudflare-secrets-store:accountId <id>`.",
    );
  }
  return settings;
}

/** The {@link CheckContext} of a resource whose own `accountId` is `resourceAccountId`. */
export const checkContext = (resourceAccountId: string | undefined, storeId?: string): CheckContext => ({
  accountId: accountIdFor(resourceAccountId),
  ownAccountId: resourceAccountId !== undefined,
  storeId,
});

/** The failure for a store id that is well-formed but names no store of the account. */
export const missingStore = (storeId: string, accountId: string): CheckFailure => ({
  property: "storeId",
  reason: `Store ${storeId} does not exist in account ${accountId}. Pass the id of an existing store: \`storeId: store.id\` of a SecretsStore (\`adopt: true\` takes over the account's existing store), or the id the dashboard shows.`,
});

/** `id` when it is a well-formed id; undefined when absent or unknown at preview, or malformed (then with a failure). */
export function validId(id: string | undefined, property: string, what: string, example: string, failures: CheckFailure[]): string | undefined {
  if (id === undefined || isUnknown(id)) return undefined;
  const problem = idProblem(property, id, what, example);
  if (problem) failures.push({ property, reason: problem });
  return problem ? undefined : id;
}

/** The checked `storeId` of a resource's inputs (undefined when missing, invalid or not known yet). */
export function storeIdOf(news: Record<string, unknown>, failures: CheckFailure[]): string | undefined {
  const storeId = field(news, "storeId", z.string(), failures, "the id of a store, for example `store.id`");
  return validId(storeId, "storeId", "a store id", "`store.id` of a SecretsStore", failures);
}

/** The checked `scriptName`, `storeId` and `accountId` that both binding resources take. */
export function bindingTargetOf(news: Record<string, unknown>, failures: CheckFailure[]): { scriptName?: string; storeId?: string; accountId?: string } {
  const scriptName = field(news, "scriptName", z.string(), failures, 'the name of a deployed Worker, for example "api-worker"');
  const problem = scriptName === undefined ? undefined : scriptNameProblem(scriptName);
  if (problem) failures.push({ property: "scriptName", reason: problem });
  return { scriptName, storeId: storeIdOf(news, failures), accountId: accountIdOf(news, failures) };
}
