/** Typed Secrets Store endpoints (stores, secrets, quota) with the zod schemas of their results. */
import { z } from "zod";
import { cfListAll } from "./pagination";
import { cfRequest, type ApiSettings } from "./request";
import { CloudflareApiError, ignoreNotFound } from "./error";

/** A store or secret id as Cloudflare makes them: 32 lowercase hex characters. */
export const HEX_ID = /^[0-9a-f]{32}$/;

/**
 * An id that goes into a URL: anything else (`..`, a `/`) in an answer would send a later request
 * to another object's URL, so it fails the answer instead.
 */
export const Id = z.string().regex(HEX_ID, "must be 32 lowercase hex characters (a Cloudflare id)");

export const Store = z.object({
  id: Id,
  name: z.string(),
  created: z.string(),
  modified: z.string(),
  account_id: z.string().optional(),
});
export type Store = z.infer<typeof Store>;

export const Secret = z.object({
  id: Id,
  name: z.string(),
  store_id: Id,
  created: z.string(),
  modified: z.string(),
  /** `pending`, `active` or `deleted` today; any string is accepted so a new status never breaks a create. */
  status: z.string(),
  scopes: z
    .array(z.string())
    .nullish()
    .transform((s) => s ?? []),
  comment: z
    .string()
    .nullish()
    .transform((c) => c ?? ""),
});
export type Secret = z.infer<typeof Secret>;

export const Quota = z.object({ secrets: z.object({ quota: z.number(), usage: z.number() }) });
export type Quota = z.infer<typeof Quota>;

const Ignored = z.unknown();

const storesPath = (accountId: string) => `/accounts/${encodeURIComponent(accountId)}/secrets_store/stores`;
const secretsPath = (accountId: string, storeId: string) => `${storesPath(accountId)}/${encodeURIComponent(storeId)}/secrets`;
const secretPath = (accountId: string, storeId: string, secretId: string) => `${secretsPath(accountId, storeId)}/${encodeURIComponent(secretId)}`;

export async function listStores(api: ApiSettings, accountId: string): Promise<Store[]> {
  return cfListAll(api, { path: storesPath(accountId), schema: z.array(Store) });
}

export async function getStore(api: ApiSettings, accountId: string, storeId: string): Promise<Store> {
  return (await cfRequest(api, { method: "GET", path: `${storesPath(accountId)}/${encodeURIComponent(storeId)}`, schema: Store })).result;
}

/**
 * Sends a create. When its outcome is unknown (timeout, reset, 5xx after sending), it is not
 * re-sent blindly: `lookup` finds what it may have created, so one call never makes two objects.
 * A re-send refused because the name now exists (the first one landed late) is looked up too.
 */
async function createOnce<T>(send: () => Promise<T>, lookup: () => Promise<T | undefined>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!(err instanceof CloudflareApiError && err.outcomeUnknown)) throw err;
    const found = await lookup();
    if (found) return found;
    try {
      return await send();
    } catch (again) {
      const landed = again instanceof CloudflareApiError && (again.outcomeUnknown || again.status === 409) ? await lookup() : undefined;
      if (landed) return landed;
      throw again;
    }
  }
}

/** Creates a store (see {@link createOnce} for an unknown outcome). */
export async function createStore(api: ApiSettings, accountId: string, name: string): Promise<Store> {
  return createOnce(
    async () => (await cfRequest(api, { method: "POST", path: storesPath(accountId), json: { name }, schema: Store })).result,
    async () => (await listStores(api, accountId)).find((s) => s.name === name),
  );
}

export async function deleteStore(api: ApiSettings, accountId: string, storeId: string, force: boolean): Promise<void> {
  await cfRequest(api, {
    method: "DELETE",
    path: `${storesPath(accountId)}/${encodeURIComponent(storeId)}`,
    query: force ? { force: "true" } : undefined,
    schema: Ignored,
  });
}

export async function listSecrets(api: ApiSettings, accountId: string, storeId: string, filter: { search?: string } = {}): Promise<Secret[]> {
  return cfListAll(api, { path: secretsPath(accountId, storeId), query: { search: filter.search }, schema: z.array(Secret) });
}

/** The secret with exactly this name in the store, if any (search narrows, the name must match exactly). */
export async function findSecretByName(api: ApiSettings, accountId: string, storeId: string, name: string): Promise<Secret | undefined> {
  return (await listSecrets(api, accountId, storeId, { search: name })).find((s) => s.name === name);
}

export async function getSecret(api: ApiSettings, accountId: string, storeId: string, secretId: string): Promise<Secret> {
  return (await cfRequest(api, { method: "GET", path: secretPath(accountId, storeId, secretId), schema: Secret })).result;
}

export interface NewSecret {
  name: string;
  value: string;
  scopes: string[];
  comment?: string;
}

const newSecretBody = (s: NewSecret) => ({ name: s.name, value: s.value, scopes: s.scopes, ...(s.comment ? { comment: s.comment } : {}) });

/** Creates one secret (see {@link createOnce} for an unknown outcome). */
export async function createSecret(api: ApiSettings, accountId: string, storeId: string, secret: NewSecret): Promise<Secret> {
  return createOnce(
    async () => {
      const [created] = await createSecrets(api, accountId, storeId, [secret]);
      if (!created) throw new Error("Cloudflare's answer to a create of one secret lists none");
      return created;
    },
    () => findSecretByName(api, accountId, storeId, secret.name),
  );
}

/** Most secrets one create request takes. */
export const MAX_SECRETS_PER_CREATE = 100;

/**
 * Creates up to {@link MAX_SECRETS_PER_CREATE} secrets in one request. All or nothing: when it
 * fails, none was created (unless the outcome is unknown; the caller looks them up then). The
 * result is in the order of `secrets`.
 */
export async function createSecrets(api: ApiSettings, accountId: string, storeId: string, secrets: NewSecret[]): Promise<Secret[]> {
  const { result } = await cfRequest(api, {
    method: "POST",
    path: secretsPath(accountId, storeId),
    json: secrets.map(newSecretBody),
    schema: z.array(Secret).length(secrets.length),
  });
  const byName = new Map(result.map((s) => [s.name, s]));
  // The schema checked that `result` has one secret per item, so `result[i]` is always there.
  return secrets.map((s, i) => {
    const created = byName.get(s.name) ?? result[i];
    if (!created) throw new Error(`Cloudflare's answer to a create of ${secrets.length} secrets lacks item ${i}`);
    return created;
  });
}

/** Deletes several secrets in one request (`{ ids }`). Fails whole when one of them is gone. */
export async function deleteSecrets(api: ApiSettings, accountId: string, storeId: string, ids: string[]): Promise<void> {
  await cfRequest(api, { method: "DELETE", path: secretsPath(accountId, storeId), json: { ids }, schema: Ignored });
}

export interface SecretPatch {
  value?: string;
  scopes?: string[];
  comment?: string;
}

export async function patchSecret(api: ApiSettings, accountId: string, storeId: string, secretId: string, patch: SecretPatch): Promise<Secret> {
  return (await cfRequest(api, { method: "PATCH", path: secretPath(accountId, storeId, secretId), json: patch, schema: Secret })).result;
}

/** Deletes a secret; a secret already gone counts as deleted. */
export async function deleteSecret(api: ApiSettings, accountId: string, storeId: string, secretId: string): Promise<void> {
  await ignoreNotFound(cfRequest(api, { method: "DELETE", path: secretPath(accountId, storeId, secretId), schema: Ignored }));
}

export interface DuplicateSecret {
  name: string;
  scopes: string[];
  comment?: string;
}

/**
 * Copies a secret's value into a new secret: Cloudflare copies it, nobody reads it
 * (see {@link createOnce} for an unknown outcome).
 */
export async function duplicateSecret(api: ApiSettings, accountId: string, storeId: string, sourceId: string, copy: DuplicateSecret): Promise<Secret> {
  const json = { name: copy.name, scopes: copy.scopes, comment: copy.comment ?? "" };
  return createOnce(
    async () => (await cfRequest(api, { method: "POST", path: `${secretPath(accountId, storeId, sourceId)}/duplicate`, json, schema: Secret })).result,
    () => findSecretByName(api, accountId, storeId, copy.name),
  );
}

export async function getQuota(api: ApiSettings, accountId: string): Promise<Quota> {
  return (await cfRequest(api, { method: "GET", path: `/accounts/${encodeURIComponent(accountId)}/secrets_store/quota`, schema: Quota })).result;
}
