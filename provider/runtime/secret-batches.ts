/**
 * Secret creates and deletes of this deployment, batched per store: the creates that are ready at
 * the same moment go out as one `POST` of up to 100 secrets, the deletes as one bulk `DELETE`.
 * Each resource still gets its own result or error, and no secret is ever created twice.
 */
import * as api from "../api/secrets-store";
import { CloudflareApiError } from "../api/error";
import { forgetSecret, noteSecret } from "./account-view";
import { Batcher, outcome, type NonEmpty, type Outcome } from "./batch";
import type { Settings } from "./config";

interface CreateItem {
  settings: Settings;
  storeId: string;
  secret: api.NewSecret;
}

interface DeleteItem {
  settings: Settings;
  storeId: string;
  id: string;
}

/**
 * A create or delete waits until none has joined it for 100 ms (the engine readies steps one check
 * at a time), at most 1 s; those that arrive while a request is out go together in the next one.
 */
const TIMING = { windowMs: 100, maxWaitMs: 1000, serial: true };

const creates = new Batcher<CreateItem, api.Secret>((_key, items) => createBatch(items), { maxItems: api.MAX_SECRETS_PER_CREATE, ...TIMING });
const deletes = new Batcher<DeleteItem, void>((_key, items) => deleteBatch(items), { maxItems: 100, ...TIMING });

/** Creates a secret, in one request with the other creates of this moment in the same store. */
export function createSecret(settings: Settings, storeId: string, secret: api.NewSecret): Promise<api.Secret> {
  return creates.add(`${settings.accountId}/${storeId}`, { settings, storeId, secret });
}

/** Deletes a secret (one already gone counts as deleted), with the other deletes of this moment. */
export function deleteSecret(settings: Settings, storeId: string, id: string): Promise<void> {
  return deletes.add(`${settings.accountId}/${storeId}`, { settings, storeId, id });
}

async function createBatch(items: NonEmpty<CreateItem>): Promise<Array<Outcome<api.Secret>>> {
  const { settings, storeId } = items[0];
  const one = (item: CreateItem) => outcome(() => api.createSecret(settings.api, settings.accountId, storeId, item.secret));
  let results: Array<Outcome<api.Secret>>;
  if (items.length === 1) {
    results = [await one(items[0])];
  } else {
    try {
      const created = await api.createSecrets(
        settings.api,
        settings.accountId,
        storeId,
        items.map((i) => i.secret),
      );
      results = created.map((value) => ({ ok: true, value }));
    } catch (err) {
      // All or nothing. When the outcome is unknown, what landed is looked up by name (preview
      // made sure no other secret holds these names); the rest, or all after a clear refusal, go
      // one by one, so one bad secret does not fail the others and each gets its own error.
      const landed =
        err instanceof CloudflareApiError && err.outcomeUnknown
          ? new Map((await api.listSecrets(settings.api, settings.accountId, storeId)).map((s) => [s.name, s]))
          : new Map<string, api.Secret>();
      results = await Promise.all(
        items.map((i) => {
          const found = landed.get(i.secret.name);
          return found ? { ok: true as const, value: found } : one(i);
        }),
      );
    }
  }
  for (const r of results) if (r.ok) noteSecret(settings, r.value);
  return results;
}

async function deleteBatch(items: NonEmpty<DeleteItem>): Promise<Array<Outcome<void>>> {
  const { settings, storeId } = items[0];
  const one = (item: DeleteItem) => outcome(() => api.deleteSecret(settings.api, settings.accountId, storeId, item.id));
  let results: Array<Outcome<void>>;
  if (items.length === 1) {
    results = [await one(items[0])];
  } else {
    try {
      await api.deleteSecrets(
        settings.api,
        settings.accountId,
        storeId,
        items.map((i) => i.id),
      );
      results = items.map(() => ({ ok: true, value: undefined }));
    } catch {
      // The bulk delete fails whole when one id is already gone: delete one by one then.
      results = await Promise.all(items.map(one));
    }
  }
  items.forEach((item, i) => {
    if (results[i]?.ok) forgetSecret(settings, storeId, item.id);
  });
  return results;
}
