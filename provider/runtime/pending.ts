/**
 * Cloudflare keeps a secret `pending` for a while after it is created, duplicated or given a new
 * value, and refuses a Worker binding that names it until it is `active` (400, code 10182, "…
 * which were not found"). A binding write therefore first waits for the secrets it sends.
 *
 * The wait is shared: every waiter on a store is served by one list of that store per
 * {@link POLL_MS}, whatever the number of secrets or Workers waiting, and it is bounded by
 * `cloudflare-secrets-store:pendingTimeoutSeconds` (default 60).
 */
import { CloudflareApiError } from "../api/error";
import * as view from "./account-view";
import { pendingTimeoutMs, type Settings } from "./config";

/** Cloudflare's code for a binding to a secret that is missing or still pending. */
export const BINDING_SECRET_NOT_FOUND = 10182;

/** How often a store is listed while something waits on it. */
export const POLL_MS = 500;

/** A secret a binding names. */
export interface SecretRef {
  storeId: string;
  name: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True for Cloudflare's refusal of a binding to a missing or pending secret. */
export const isPendingRefusal = (err: unknown): boolean => err instanceof CloudflareApiError && err.has(BINDING_SECRET_NOT_FOUND);

/** The refs this deployment last saw `pending` (listed or written), without a request. */
async function stillPending(settings: Settings, refs: SecretRef[]): Promise<SecretRef[]> {
  const known = await Promise.all(refs.map((r) => view.knownSecret(settings, r.storeId, r.name)));
  return refs.filter((_, i) => known[i]?.status === "pending");
}

/**
 * Resolves once none of `refs` is pending, as far as this deployment can tell (`relistFirst`: list
 * their stores once before deciding, for secrets whose status is not known here), to whether it
 * had to wait. A secret that is missing does not wait: the write that follows gets Cloudflare's own
 * error for it. Throws, naming the secret, its status, the wait and the fix, when one is still
 * pending at the deadline.
 */
export async function waitActive(settings: Settings, refs: SecretRef[], what: string, relistFirst = false): Promise<boolean> {
  const started = Date.now();
  const limit = pendingTimeoutMs();
  const stores = (rs: SecretRef[]) => [...new Set(rs.map((r) => r.storeId))];
  if (relistFirst) await Promise.all(stores(refs).map((s) => view.relist(settings, s, POLL_MS)));
  let waiting = await stillPending(settings, refs);
  const hadToWait = waiting.length > 0;
  for (let [first, ...rest] = waiting; first; [first, ...rest] = waiting) {
    const waited = Date.now() - started;
    if (waited >= limit) {
      const others = rest.length ? ` (and ${rest.length} more: ${rest.map((r) => r.name).join(", ")})` : "";
      throw new Error(
        `Secret "${first.name}" in store ${first.storeId}${others} is still "pending" after waiting ${Math.round(waited / 1000)} s, so ${what} was not written: Cloudflare refuses to bind a secret until it is "active" (it is pending for a while after it is created, copied or given a new value). Nothing was half-applied: run \`pulumi up\` again in a minute to finish, or wait longer with \`pulumi config set cloudflare-secrets-store:pendingTimeoutSeconds ${Math.max(120, (2 * limit) / 1000)}\`.`,
      );
    }
    await sleep(Math.min(POLL_MS, limit - waited));
    await Promise.all(stores(waiting).map((s) => view.relist(settings, s, POLL_MS)));
    waiting = await stillPending(settings, waiting);
  }
  return hadToWait;
}
