/**
 * Secrets Store's rules and operations: stores, secrets, quota. Every operation runs all its
 * checks before it changes anything, so one that fails changes nothing; each one that changes the
 * state commits it. The routes (routes/secrets-store.ts) and the seed loader (seed.ts) both call
 * these. Problems are thrown as `ApiError`s carrying Cloudflare's status and error codes.
 */
import { ApiError, apiError, type ApiMessage } from "../envelope";
import { type EmulatorState, type SecretRecord, type StoreRecord, newId, secretStatus, timestamp } from "../state";

/** Scopes the API accepts, in the (alphabetical) order it returns them. */
export const SCOPES = ["access", "ai_gateway", "containers", "dex", "websearch", "workers"] as const;
/** The API's limit on a value (the product docs say 1,024 bytes; the API reference says 64 KiB). */
export const MAX_VALUE_BYTES = 65_536;
/** Secret names as wrangler checks them. */
export const SECRET_NAME = /^[A-Za-z0-9_-]+$/;
const MAX_STORE_NAME = 255;

// Error codes. 1001 = invalid or not found, 1003 = a limit or a name clash (as users report them).
export const SECRETS_STORE_INVALID = 1001;
export const CONFLICT = 1003;

// ---------------------------------------------------------------------------------------------
// Field rules

export interface NewSecret {
  name: string;
  value: string;
  scopes: string[];
  comment?: string;
}

/** What PATCH may change on a secret; a new value makes the secret `pending` again (a new window). */
export interface SecretChanges {
  value?: string;
  scopes?: string[];
  comment?: string;
}

function problem(message: string, pointer: string | undefined, code = SECRETS_STORE_INVALID): ApiMessage {
  return pointer === undefined ? { code, message } : { code, message, source: { pointer } };
}

export function checkSecretName(name: string, pointer?: string): ApiMessage[] {
  if (SECRET_NAME.test(name)) return [];
  return [problem(`invalid_secret_name: ${JSON.stringify(name)}: a secret name may only contain letters, digits, underscores and dashes (no spaces)`, pointer)];
}

/** The problems with `scopes`, or none; `canonicalScopes` then dedupes and sorts them. */
export function checkScopes(scopes: string[], pointer?: string): ApiMessage[] {
  if (scopes.length === 0) return [problem(`invalid_scopes: at least one scope is required (one of ${SCOPES.join(", ")})`, pointer)];
  const out: ApiMessage[] = [];
  for (const scope of scopes) {
    if ((SCOPES as readonly string[]).includes(scope)) continue;
    const hint = SCOPES.find((s) => s === scope.toLowerCase().replace(/-/g, "_"));
    out.push(
      problem(`invalid_scope: ${JSON.stringify(scope)} is not a scope (one of ${SCOPES.join(", ")})${hint ? `; did you mean "${hint}"?` : ""}`, pointer),
    );
  }
  return out;
}

/** Scopes as Cloudflare stores them: each once, sorted. */
function canonicalScopes(scopes: string[]): string[] {
  return [...new Set(scopes)].sort();
}

export function checkValue(value: string, pointer?: string): ApiMessage[] {
  if (value.length === 0) return [problem("invalid_secret_value: the value must not be empty", pointer)];
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_VALUE_BYTES) {
    return [problem(`secret_value_too_long: the value is ${bytes} bytes in UTF-8; the limit is ${MAX_VALUE_BYTES} bytes`, pointer)];
  }
  return [];
}

/** Throw every problem in one `ApiError` (status 400 unless given), if there is any. */
export function throwIfAny(problems: ApiMessage[], status = 400): void {
  if (problems.length) throw new ApiError(status, problems);
}

/** The store `storeId` of this account, or a 404 (1001). */
export function requireStore(state: EmulatorState, storeId: string): StoreRecord {
  const store = state.stores.get(storeId);
  if (!store) throw apiError(404, SECRETS_STORE_INVALID, `store_not_found: no store with id ${storeId} in this account`);
  return store;
}

/** The secret `secretId` of store `storeId`, or a 404 (1001). */
export function requireSecret(state: EmulatorState, storeId: string, secretId: string): SecretRecord {
  const secret = state.secrets.get(secretId);
  if (!secret || secret.storeId !== storeId) {
    throw apiError(404, SECRETS_STORE_INVALID, `secret_not_found: no secret with id ${secretId} in store ${storeId}`);
  }
  return secret;
}

function checkQuota(state: EmulatorState, adding: number): void {
  if (state.usage() + adding > state.quota) {
    throw apiError(
      400,
      CONFLICT,
      `quota_exceeded: the account uses ${state.usage()} of its ${state.quota} secrets; creating ${adding} more would exceed the quota (nothing was created)`,
    );
  }
}

function checkNamesFree(state: EmulatorState, storeId: string, names: string[]): void {
  const seen = new Set<string>();
  const clashes: ApiMessage[] = [];
  names.forEach((name, i) => {
    if (seen.has(name) || state.findSecretByName(storeId, name)) {
      clashes.push(problem(`secret_name_already_exists: ${name}`, names.length > 1 ? `/${i}/name` : undefined, CONFLICT));
    }
    seen.add(name);
  });
  throwIfAny(clashes, 409);
}

// ---------------------------------------------------------------------------------------------
// Operations (validated, all-or-nothing)

/** Create stores named `names` (with the given ids where present): name rules, store limit, unique names. */
export function createStores(state: EmulatorState, names: string[], ids: Array<string | undefined> = []): StoreRecord[] {
  const problems: ApiMessage[] = [];
  names.forEach((name, i) => {
    if (name.trim() === "" || name.length > MAX_STORE_NAME) {
      problems.push(problem(`invalid_store_name: a store name must be 1 to ${MAX_STORE_NAME} characters`, names.length > 1 ? `/${i}/name` : "/name"));
    }
  });
  throwIfAny(problems);
  if (state.stores.size + names.length > state.maxStores) {
    throw apiError(400, CONFLICT, `maximum_stores_exceeded: an account may have at most ${state.maxStores} store(s) and this one has ${state.stores.size}`);
  }
  const taken = new Set([...state.stores.values()].map((s) => s.name));
  for (const name of names) {
    if (taken.has(name)) throw apiError(409, CONFLICT, `store_name_already_exists: ${name}`);
    taken.add(name);
  }
  const created = names.map((name, i) => {
    const at = timestamp();
    const store: StoreRecord = { id: ids[i] ?? newId(), name, created: at, modified: at };
    state.stores.set(store.id, store);
    return store;
  });
  state.commit();
  return created;
}

/** Delete a store; one that still holds secrets only with `force` (which deletes them too), else 409. */
export function deleteStore(state: EmulatorState, storeId: string, force: boolean): void {
  const store = requireStore(state, storeId);
  const secrets = state.secretsInStore(store.id);
  if (secrets.length > 0 && !force) {
    throw apiError(409, CONFLICT, `store_not_empty: store ${store.id} still holds ${secrets.length} secret(s); delete them first or pass ?force=true`);
  }
  for (const s of secrets) state.secrets.delete(s.id);
  state.stores.delete(store.id);
  state.commit();
}

/**
 * The end of a new pending window (epoch ms): `pendingMs * (1 + random * 0.5)` from now, jittered
 * so a client cannot rely on an exact length. With `pendingMs` 0 it is now (active at once).
 */
export function pendingWindowEnd(state: EmulatorState, now: number = Date.now()): number {
  return now + Math.round(state.pendingMs * (1 + Math.random() * 0.5));
}

/**
 * Create secrets in a store, all or none: name, value and scope rules, names free in the store,
 * the account's quota. They start `pending` for a window (the API) or `active` (the seed).
 */
export function createSecrets(state: EmulatorState, storeId: string, items: NewSecret[], status: "pending" | "active" = "pending"): SecretRecord[] {
  requireStore(state, storeId);
  const at = (i: number, field: string) => `/${i}/${field}`;
  throwIfAny(
    items.flatMap((item, i) => [
      ...checkSecretName(item.name, at(i, "name")),
      ...checkValue(item.value, at(i, "value")),
      ...checkScopes(item.scopes, at(i, "scopes")),
    ]),
  );
  checkNamesFree(
    state,
    storeId,
    items.map((i) => i.name),
  );
  checkQuota(state, items.length);
  const created = items.map((item) => {
    const when = timestamp();
    const secret: SecretRecord = {
      id: newId(),
      storeId,
      name: item.name,
      value: item.value,
      scopes: canonicalScopes(item.scopes),
      comment: item.comment ?? "",
      created: when,
      modified: when,
      ...(status === "pending" ? { pendingUntil: pendingWindowEnd(state) } : {}),
    };
    state.secrets.set(secret.id, secret);
    return secret;
  });
  state.commit();
  return created;
}

/** A copy of a secret (its value included) under a new name, with its own scopes and comment. */
export function duplicateSecret(state: EmulatorState, storeId: string, secretId: string, copy: Omit<NewSecret, "value">): SecretRecord {
  const source = requireSecret(state, storeId, secretId);
  const [created] = createSecrets(state, storeId, [{ name: copy.name, value: source.value, scopes: copy.scopes, comment: copy.comment }]);
  if (!created) throw new Error("createSecrets returned no secret for the one it was given");
  return created;
}

/** Change a secret's value, scopes or comment (a rename is refused before this, at the wire). Nothing given: unchanged. */
export function patchSecret(state: EmulatorState, storeId: string, secretId: string, changes: SecretChanges): SecretRecord {
  requireStore(state, storeId);
  const secret = requireSecret(state, storeId, secretId);
  throwIfAny([
    ...(changes.value !== undefined ? checkValue(changes.value, "/value") : []),
    ...(changes.scopes !== undefined ? checkScopes(changes.scopes, "/scopes") : []),
  ]);
  if (changes.value === undefined && changes.scopes === undefined && changes.comment === undefined) return secret;
  if (changes.value !== undefined) {
    // Existing bindings keep reading the last value that finished propagating: the one before
    // the first change of this window (none when the secret is still pending since its creation).
    if (secretStatus(secret) === "active") secret.previousValue = secret.value;
    secret.value = changes.value;
    secret.pendingUntil = pendingWindowEnd(state);
    if (secretStatus(secret) === "active") delete secret.previousValue; // no window (pendingMs 0)
  }
  if (changes.scopes !== undefined) secret.scopes = canonicalScopes(changes.scopes);
  if (changes.comment !== undefined) secret.comment = changes.comment;
  secret.modified = timestamp();
  state.commit();
  return secret;
}

export function deleteSecret(state: EmulatorState, storeId: string, secretId: string): void {
  requireStore(state, storeId);
  const secret = requireSecret(state, storeId, secretId);
  state.secrets.delete(secret.id);
  state.commit();
}

/** Delete secrets of one store, all or none: any id not in the store is a 404 and nothing is deleted. */
export function deleteSecrets(state: EmulatorState, storeId: string, ids: string[]): void {
  const store = requireStore(state, storeId);
  const unique = [...new Set(ids)];
  const missing = unique.filter((id) => state.secrets.get(id)?.storeId !== store.id);
  if (missing.length) {
    throw new ApiError(
      404,
      missing.map((id) => ({ code: SECRETS_STORE_INVALID, message: `secret_not_found: no secret with id ${id} in store ${store.id} (nothing was deleted)` })),
    );
  }
  for (const id of unique) state.secrets.delete(id);
  state.commit();
}

/**
 * The value a Worker binding reads now: the previous value while a value change is pending, the
 * current one otherwise; undefined while the secret is pending since its creation (or its
 * duplication), because it has not reached the edge yet.
 */
export function propagatedValue(secret: SecretRecord, now: number = Date.now()): string | undefined {
  if (secretStatus(secret, now) === "active") return secret.value;
  return secret.previousValue;
}
