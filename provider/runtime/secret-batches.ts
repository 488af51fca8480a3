/**
 * Secret creates and deletes of this deployment, batched per store: the creates that are ready at
 * the same moment go out as one `POST` of up to 100 secrets, the deletes as one bulk `DELETE`.
 * Each resource still gets its own result or error, and no secret is ever created twice.
 */
import * as api from "../api/secrets-store";
import { CloudflareApiError } from "../api/error";
import { forgetSecret, noteSecret } from "./account-view";
import { engineBusy } from "./activity";
import { Batcher, outcome, type NonEmpty, type Outcome } from "./batch";
import type { Settings } from "./config";
import * as usage from "./usage";

interface CreateItem {
  settings: Settings;
  storeId: string;
  secret: api.NewSecret;
}

interface DeleteItem {
  settings: Settings;
  storeId: string;
  id: string;
  guard?: DeleteGuard;
}

/** A delete that must not break a Worker: refused, with `refuse`'s error, while a Worker binds `name`. */
export interface DeleteGuard {
  name: string;
  refuse(uses: usage.Use[]): Error;
}

/**
 * A create or delete waits while the engine keeps calling this provider (see {@link engineBusy}),
 * at most 5 s; those that arrive while a request is out go together in the next one.
 */
const TIMING = { windowMs: 100, maxWaitMs: 5000, serial: true, holdWhile: engineBusy };

const creates = new Batcher<CreateItem, api.Secret>((_key, items) => createBatch(items), { maxItems: api.MAX_SECRETS_PER_CREATE, ...TIMING });
const deletes = new Batcher<DeleteItem, void>((_key, items) => deleteBatch(items), { maxItems: 100, ...TIMING });

/** Creates a secret, in one request with the other creates of this moment in the same store. */
export function createSecret(settings: Settings, storeId: string, secret: api.NewSecret): Promise<api.Secret> {
  creating++;
  const created = creates.add(`${settings.accountId}/${storeId}`, { settings, storeId, secret });
  void created.then(done, done);
  return created;
}

let creating = 0;
const done = () => void creating--;

/** Whether a secret create is queued or under way: once it is done, the engine has more steps to send (its dependents). */
export const creatingSecrets = (): boolean => creating > 0;

/**
 * Deletes a secret (one already gone counts as deleted), with the other deletes of this moment.
 * With a `guard`, the Workers are read again right before the delete, and it is refused while one
 * binds the secret.
 */
export function deleteSecret(settings: Settings, storeId: string, id: string, guard?: DeleteGuard): Promise<void> {
  return deletes.add(`${settings.accountId}/${storeId}`, { settings, storeId, id, ...(guard ? { guard } : {}) });
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
  const refused = await refusals(items);
  const go = items.filter((_, i) => !refused[i]);
  const one = (item: DeleteItem) => outcome(() => api.deleteSecret(settings.api, settings.accountId, storeId, item.id));
  let results: Array<Outcome<void>>;
  const [first, ...rest] = go;
  if (!first) {
    results = [];
  } else if (rest.length === 0) {
    results = [await one(first)];
  } else {
    try {
      await api.deleteSecrets(
        settings.api,
        settings.accountId,
        storeId,
        go.map((i) => i.id),
      );
      results = go.map(() => ({ ok: true, value: undefined }));
    } catch {
      // The bulk delete fails whole when one id is already gone: delete one by one then.
      results = await Promise.all(go.map(one));
    }
  }
  go.forEach((item, i) => {
    if (results[i]?.ok) forgetSecret(settings, storeId, item.id);
  });
  return items.map((item, i) => refused[i] ?? results[go.indexOf(item)] ?? { ok: false, error: new Error("no outcome for this delete") });
}

/** Each guarded delete that a Worker's binding refuses now, read once for the whole batch right before it is sent. */
async function refusals(items: NonEmpty<DeleteItem>): Promise<Array<Outcome<void> | undefined>> {
  const { settings, storeId } = items[0];
  const names = items.flatMap((i) => (i.guard ? [i.guard.name] : []));
  if (names.length === 0) return items.map(() => undefined);
  let uses: usage.Use[];
  try {
    uses = await usage.usesOf(settings, storeId, names, true);
  } catch (error) {
    return items.map((i) => (i.guard ? { ok: false, error } : undefined));
  }
  return items.map((i) => {
    const mine = uses.filter((u) => u.secretName === i.guard?.name);
    return i.guard && mine.length ? { ok: false, error: i.guard.refuse(mine) } : undefined;
  });
}
