/** Turning errors into what the engine shows: check failures and partial-creation errors. */
import { CloudflareApiError } from "../api/error";
import { ConfigError } from "./config";
import type { CheckFailure } from "./rules";

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
