/**
 * What this deployment has read of the account, shared by every resource in the provider process
 * (one process serves one deployment): the stores, one paged list per store's secrets, one
 * settings read per Worker. Every check, create lookup and refresh read is served from it, so a
 * deployment's reads grow with pages and Workers, not with resources. What this process writes
 * updates it, so a cached read never hides a write; a read-modify-write of a binding list still
 * reads fresh (see {@link freshWorker}).
 */
import { ignoreNotFound } from "../api/error";
import * as secretsApi from "../api/secrets-store";
import * as workersApi from "../api/workers";
import type { Settings } from "./config";

type Secret = secretsApi.Secret;

/** A store's secrets by id, as last listed, with this process's writes applied. */
interface StoreListing {
  secrets: Map<string, Secret>;
}

const stores = new Map<string, Promise<secretsApi.Store[]>>();
const listings = new Map<string, Promise<StoreListing>>();
const workers = new Map<string, Promise<workersApi.ScriptSettings | undefined>>();
const scripts = new Map<string, Promise<string[]>>();

const storeKey = (settings: Settings, storeId: string) => `${settings.accountId}/${storeId}`;
const workerKey = (settings: Settings, scriptName: string) => `${settings.accountId}/${scriptName}`;

/** Caches a promise; a failed read is forgotten, so the next caller tries again. */
function memo<T>(map: Map<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = read();
    map.set(key, value);
    value.catch(() => {
      if (map.get(key) === value) map.delete(key);
    });
  }
  return value;
}

async function listStore(settings: Settings, storeId: string): Promise<StoreListing> {
  const all = await secretsApi.listSecrets(settings.api, settings.accountId, storeId);
  return { secrets: new Map(all.map((s) => [s.id, s])) };
}

const listing = (settings: Settings, storeId: string) => memo(listings, storeKey(settings, storeId), () => listStore(settings, storeId));

/** The account's stores (listed once). */
export function listStores(settings: Settings): Promise<secretsApi.Store[]> {
  return memo(stores, settings.accountId, () => secretsApi.listStores(settings.api, settings.accountId));
}

/** Records a store this process created. */
export function noteStore(settings: Settings, store: secretsApi.Store): void {
  const known = stores.get(settings.accountId);
  if (known)
    stores.set(
      settings.accountId,
      known.then((all) => [...all.filter((s) => s.id !== store.id), store]),
    );
}

/** Every secret of a store (one paged list per store per deployment); undefined when the store is gone. */
export async function storeSecrets(settings: Settings, storeId: string): Promise<Secret[] | undefined> {
  const found = await ignoreNotFound(listing(settings, storeId));
  return found && [...found.secrets.values()];
}

/** The secret named `name` in the store, if any. */
export async function findSecret(settings: Settings, storeId: string, name: string): Promise<Secret | undefined> {
  return (await storeSecrets(settings, storeId))?.find((s) => s.name === name);
}

/** The secret with this id, if the store holds it; undefined when it or its store is gone. */
export async function secretById(settings: Settings, storeId: string, id: string): Promise<Secret | undefined> {
  return (await ignoreNotFound(listing(settings, storeId)))?.secrets.get(id);
}

/**
 * The secret named `name` as this deployment last listed or wrote it, without a request:
 * undefined when its store was never listed here or holds no such secret.
 */
export async function knownSecret(settings: Settings, storeId: string, name: string): Promise<Secret | undefined> {
  const known = listings.get(storeKey(settings, storeId));
  const found = known && (await ignoreNotFound(known).catch(() => undefined));
  return found && [...found.secrets.values()].find((s) => s.name === name);
}

const relisted = new Map<string, { at: number; done: Promise<void> }>();

/**
 * Lists a store's secrets again, unless a list of it started less than `maxAgeMs` ago (then waits
 * for that one): however many callers poll a store, it costs one list per `maxAgeMs`.
 */
export function relist(settings: Settings, storeId: string, maxAgeMs: number): Promise<void> {
  const key = storeKey(settings, storeId);
  const last = relisted.get(key);
  if (last && Date.now() - last.at < maxAgeMs) return last.done;
  const read = listStore(settings, storeId);
  const done = read.then(
    () => {
      listings.set(key, read);
    },
    (err: unknown) => {
      relisted.delete(key);
      throw err;
    },
  );
  relisted.set(key, { at: Date.now(), done });
  return done;
}

/** Records a secret this process created or changed (as the API answered). */
export function noteSecret(settings: Settings, secret: Secret): void {
  const known = listings.get(storeKey(settings, secret.store_id));
  void known?.then(
    (l) => l.secrets.set(secret.id, secret),
    () => undefined,
  );
}

/** Records a secret this process deleted. */
export function forgetSecret(settings: Settings, storeId: string, id: string): void {
  const known = listings.get(storeKey(settings, storeId));
  void known?.then(
    (l) => l.secrets.delete(id),
    () => undefined,
  );
}

/** A Worker's settings as read once in this deployment (undefined when the Worker does not exist). */
export function worker(settings: Settings, scriptName: string): Promise<workersApi.ScriptSettings | undefined> {
  return workers.get(workerKey(settings, scriptName)) ?? freshWorker(settings, scriptName);
}

/**
 * A Worker's settings read now (for a read-modify-write); the cached copy becomes this read. With
 * `reuseWithinMs`, a read that came back less than that long ago serves instead: as current as a
 * new one (a batch of binding changes starts right after the previous batch's check read).
 */
export function freshWorker(settings: Settings, scriptName: string, reuseWithinMs = 0): Promise<workersApi.ScriptSettings | undefined> {
  const key = workerKey(settings, scriptName);
  const recent = workers.get(key);
  if (recent && Date.now() - (readAt.get(key) ?? -Infinity) < reuseWithinMs) return recent;
  validAt.delete(key);
  readAt.delete(key);
  const read = ignoreNotFound(workersApi.getScriptSettings(settings.api, settings.accountId, scriptName));
  workers.set(key, read);
  void read.then(
    () => workers.get(key) === read && readAt.set(key, Date.now()),
    () => workers.get(key) === read && workers.delete(key),
  );
  return read;
}

/** When each Worker's cached settings came back from a fresh read. */
const readAt = new Map<string, number>();

/** Records a Worker's settings as this process wrote them. */
export function noteWorker(settings: Settings, scriptName: string, written: workersApi.ScriptSettings): void {
  workers.set(workerKey(settings, scriptName), Promise.resolve(written));
  validAt.delete(workerKey(settings, scriptName));
  readAt.delete(workerKey(settings, scriptName));
}

/**
 * For a Worker whose settings {@link currentWorker} read right after a list of the account's
 * Workers: that list's `etag` and `modified_on` of it (every change to a Worker moves them).
 */
const validAt = new Map<string, string>();
const marker = (s: workersApi.Script) => `${String(s.etag ?? "")}|${String(s.modified_on ?? "")}`;

/**
 * The account's Workers listed now, each with its settings as they are now: read again unless the
 * list shows the Worker unchanged since its settings were last read this way. One list, plus one
 * read per Worker that changed (all of them the first time), for a step that must not rely on an
 * earlier read.
 */
export async function currentWorkers(settings: Settings): Promise<Array<{ scriptName: string; script: workersApi.ScriptSettings | undefined }>> {
  const listed = await workersApi.listScripts(settings.api, settings.accountId);
  scripts.set(settings.accountId, Promise.resolve(listed.map((s) => s.id)));
  return Promise.all(
    listed.map(async (s) => {
      const key = workerKey(settings, s.id);
      const cached = validAt.get(key) === marker(s) ? workers.get(key) : undefined;
      const script = await (cached ?? freshWorker(settings, s.id));
      if (!cached) validAt.set(key, marker(s));
      return { scriptName: s.id, script };
    }),
  );
}

/** The names of the account's Workers (listed once per deployment). */
export function scriptNames(settings: Settings): Promise<string[]> {
  return memo(scripts, settings.accountId, async () => (await workersApi.listScripts(settings.api, settings.accountId)).map((s) => s.id));
}
