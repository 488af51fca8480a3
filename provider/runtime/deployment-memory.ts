/**
 * What this deployment's checks learned, remembered in the provider process so one resource's
 * `check` can see the others': secrets it creates (for the quota) and the scopes every secret
 * will have (for bindings). The engine checks a resource only after the resources it depends on,
 * so a binding's check sees the secret it names. (Not a Pulumi update plan: `remember*` records,
 * `remembered*` reads back.)
 */
import { getQuota, type Quota } from "../api/secrets-store";
import type { Settings } from "./config";
import type { ResourceKind } from "../fields";

const quotas = new Map<string, Promise<Quota>>();
const creates = new Map<string, Map<string, number>>();
const secrets = new Map<string, { scopes?: string[]; secretLabel: string }>();

const renames = new Map<string, string>();
const owned = new Set<string>();
const adoptedStores = new Map<string, string>();
const claimed = new Set<string>();
const breaksAccepted = new Set<string>();
const recreated = new Set<string>();
const currentCopies = new Map<string, string | undefined>();

/** A store not known yet (created in this deployment) is keyed as "?". */
const secretKey = (accountId: string, storeId: string | undefined, name: string) => `${accountId}/${storeId ?? "?"}/${name}`;

/**
 * Counts `count` new secrets under `label` against the account's quota (read once per process).
 * Returns a failure message when this deployment would go over it.
 */
export async function reserveQuota(settings: Settings, label: string, count: number): Promise<string | undefined> {
  let quota = quotas.get(settings.accountId);
  if (!quota) {
    quota = getQuota(settings.api, settings.accountId);
    quotas.set(settings.accountId, quota);
    quota.catch(() => quotas.delete(settings.accountId));
  }
  const { secrets: q } = await quota;
  const planned = creates.get(settings.accountId) ?? new Map<string, number>();
  creates.set(settings.accountId, planned);
  planned.set(label, count);
  const total = [...planned.values()].reduce((a, b) => a + b, 0);
  if (q.usage + total <= q.quota) return undefined;
  const names = [...planned.keys()].join(", ");
  return `Creating this secret would exceed the account's Secrets Store quota: quota ${q.quota}, in use ${q.usage}, this deployment creates ${total} (${names}). Delete unused secrets or ask Cloudflare for a higher quota.`;
}

/** Records the scopes a secret will have after this deployment (undefined when not known yet). */
export function rememberSecret(accountId: string, storeId: string | undefined, name: string, scopes: string[] | undefined, secretLabel: string): void {
  secrets.set(secretKey(accountId, storeId, name), { scopes, secretLabel });
}

/** What this deployment will make of a secret, if a StoreSecret in it manages that name. */
export function rememberedSecret(accountId: string, storeId: string | undefined, name: string): { scopes?: string[]; secretLabel: string } | undefined {
  return secrets.get(secretKey(accountId, storeId, name)) ?? secrets.get(secretKey(accountId, undefined, name));
}

/** Records that the secret `name` is a rename of the secret `sourceId` (copied, since the program has no value). */
export function rememberRename(accountId: string, storeId: string, name: string, sourceId: string): void {
  renames.set(secretKey(accountId, storeId, name), sourceId);
}

export function rememberedRename(accountId: string, storeId: string, name: string): string | undefined {
  return renames.get(secretKey(accountId, storeId, name));
}

/** Records that a resource in this deployment already manages the secret `name` (its replacement may reuse the name). */
export function rememberOwned(accountId: string, storeId: string | undefined, name: string): void {
  owned.add(secretKey(accountId, storeId, name));
}

export function isOwned(accountId: string, storeId: string | undefined, name: string): boolean {
  return owned.has(secretKey(accountId, storeId, name));
}

/** Records the id of the existing store a SecretsStore in this deployment adopts, known before its create. */
export function rememberStoreId(accountId: string, storeId: string): void {
  adoptedStores.set(accountId, storeId);
}

/** The store a SecretsStore in this deployment adopts, if any. */
export function rememberedStoreId(accountId: string): string | undefined {
  return adoptedStores.get(accountId);
}

/** Records that a SecretsStore in this deployment manages the store `name` (so its replacement does not count it). */
export function rememberOwnedStore(accountId: string, name: string): void {
  owned.add(`${accountId}/stores/${name}`);
}

export function isOwnedStore(accountId: string, name: string): boolean {
  return owned.has(`${accountId}/stores/${name}`);
}

export type ResourceKindName = ResourceKind;

/**
 * Records that a create in this deployment took over the existing object `id` of this kind
 * instead of making a new one: it belongs to the new resource now, and deleting the resource it
 * replaces (same id) must leave it.
 */
export function claim(kind: ResourceKindName, id: string): void {
  claimed.add(`${kind}/${id}`);
}

/** Whether a create in this deployment took over `id`. */
export function isClaimed(kind: ResourceKindName, id: string): boolean {
  return claimed.has(`${kind}/${id}`);
}

/** Records that deleting the secret `name` may leave Workers without it (a rename with `deleteWhenBound`). */
export function acceptBreak(accountId: string, storeId: string, name: string): void {
  breaksAccepted.add(secretKey(accountId, storeId, name));
}

export function isBreakAccepted(accountId: string, storeId: string, name: string): boolean {
  return breaksAccepted.has(secretKey(accountId, storeId, name));
}

/** Records that the secret `name` is deleted and created again under the same name (a delete-before-replace). */
export function rememberRecreate(accountId: string, storeId: string, name: string): void {
  recreated.add(secretKey(accountId, storeId, name));
}

/** Whether the secret `name` comes back in this deployment, so a binding to it resolves again by name. */
export function isRecreated(accountId: string, storeId: string, name: string): boolean {
  return recreated.has(secretKey(accountId, storeId, name));
}

/** Records the previous-value copy a secret keeps after this deployment (undefined: none). */
export function rememberCopy(accountId: string, storeId: string, secretName: string, copyName: string | undefined): void {
  currentCopies.set(secretKey(accountId, storeId, secretName), copyName);
}

/** The copy a StoreSecret of this deployment keeps; `{ known: false }` when none was checked here. */
export function rememberedCopy(accountId: string, storeId: string, secretName: string): { known: boolean; copyName?: string } {
  const key = secretKey(accountId, storeId, secretName);
  return currentCopies.has(key) ? { known: true, copyName: currentCopies.get(key) } : { known: false };
}
