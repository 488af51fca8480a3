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
 * `text` with every secret value this process holds replaced. Values shorter than 4 characters are
 * left: replacing them would garble ids and numbers, and they cannot be kept secret anyway.
 */
function redact(text: string): string {
  let out = text;
  for (const value of knownPlaintexts()) if (value.length >= 4) out = out.split(value).join(REDACTED);
  return out;
}

/**
 * `fn` whose errors and check failures never carry a secret value this process holds (an API may
 * echo a request body in its error message, and the engine stores error messages in the state).
 */
export function scrubbed<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    let result: R;
    try {
      result = await fn(...args);
    } catch (err) {
      if (err instanceof Error) {
        err.message = redact(err.message);
        if (err.stack) err.stack = redact(err.stack);
        const withReasons = err as Error & { reasons?: unknown };
        if (Array.isArray(withReasons.reasons)) withReasons.reasons = withReasons.reasons.map((r: unknown) => (typeof r === "string" ? redact(r) : r));
      }
      throw err;
    }
    const failures = (result as { failures?: CheckFailure[] } | undefined)?.failures;
    if (Array.isArray(failures)) for (const f of failures) f.reason = redact(f.reason);
    return result;
  };
}
