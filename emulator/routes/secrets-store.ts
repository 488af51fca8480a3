/**
 * Secrets Store: stores, secrets, quota. Every check runs before any change, so a failed
 * request changes nothing. The secret value is write-only: no response ever contains it.
 */
import { z } from "zod";
import { MAX_SECRETS_BODY_BYTES, parseJson } from "../body";
import type { RequestContext, Route } from "../context";
import { ApiError, apiError, ok, paginate, type ApiMessage, type ApiResponse } from "../envelope";
import { type EmulatorState, type SecretRecord, type StoreRecord, newId, timestamp } from "../state";
import { parseListQuery, parseWith, sortBy } from "../validation";

/** Scopes the API accepts, in the (alphabetical) order it returns them. */
export const SCOPES = ["access", "ai_gateway", "containers", "dex", "websearch", "workers"] as const;
/** The API's limit on a value (the product docs say 1,024 bytes; the API reference says 64 KiB). */
export const MAX_VALUE_BYTES = 65_536;
/** Secret names as wrangler checks them. */
export const SECRET_NAME = /^[A-Za-z0-9_-]+$/;
const MAX_STORE_NAME = 255;

// Error codes. 1001 = invalid or not found, 1003 = a limit or a name clash (as users report them).
const INVALID = 1001;
const CONFLICT = 1003;

// ---------------------------------------------------------------------------------------------
// Wire shapes

export function storeJson(state: EmulatorState, store: StoreRecord): Record<string, unknown> {
  return { id: store.id, name: store.name, created: store.created, modified: store.modified, account_id: state.accountId };
}

export function secretJson(secret: SecretRecord): Record<string, unknown> {
  return {
    id: secret.id,
    name: secret.name,
    store_id: secret.storeId,
    status: secret.status,
    scopes: [...secret.scopes],
    comment: secret.comment,
    created: secret.created,
    modified: secret.modified,
  };
}

/** A secret is `pending` in the response that creates it (or changes its value), and `active` from the next read on. */
function markRead(state: EmulatorState, secrets: SecretRecord[]): void {
  let changed = false;
  for (const s of secrets) {
    if (s.status === "pending") {
      s.status = "active";
      changed = true;
    }
  }
  if (changed) state.commit();
}

// ---------------------------------------------------------------------------------------------
// Field rules, shared with the seed loader

export interface NewSecret {
  name: string;
  value: string;
  scopes: string[];
  comment?: string;
}

function problem(message: string, pointer: string | undefined, code = INVALID): ApiMessage {
  return pointer === undefined ? { code, message } : { code, message, source: { pointer } };
}

export function checkSecretName(name: string, pointer?: string): ApiMessage[] {
  if (SECRET_NAME.test(name)) return [];
  return [problem(`invalid_secret_name: ${JSON.stringify(name)}: a secret name may only contain letters, digits, underscores and dashes (no spaces)`, pointer)];
}

/** The problems with `scopes`, or none; `normalizeScopes` then dedupes and sorts them. */
export function checkScopes(scopes: string[], pointer?: string): ApiMessage[] {
  if (scopes.length === 0) return [problem(`invalid_scopes: at least one scope is required (one of ${SCOPES.join(", ")})`, pointer)];
  const out: ApiMessage[] = [];
  for (const scope of scopes) {
    if ((SCOPES as readonly string[]).includes(scope)) continue;
    const hint = SCOPES.find((s) => s === scope.toLowerCase().replace(/-/g, "_"));
    out.push(problem(`invalid_scope: ${JSON.stringify(scope)} is not a scope (one of ${SCOPES.join(", ")})${hint ? `; did you mean "${hint}"?` : ""}`, pointer));
  }
  return out;
}

export function normalizeScopes(scopes: string[]): string[] {
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

function throwIfAny(problems: ApiMessage[], status = 400): void {
  if (problems.length) throw new ApiError(status, problems);
}

export function requireStore(state: EmulatorState, storeId: string): StoreRecord {
  const store = state.stores.get(storeId);
  if (!store) throw apiError(404, INVALID, `store_not_found: no store with id ${storeId} in this account`);
  return store;
}

function requireSecret(state: EmulatorState, storeId: string, secretId: string): SecretRecord {
  const secret = state.secrets.get(secretId);
  if (!secret || secret.storeId !== storeId) {
    throw apiError(404, INVALID, `secret_not_found: no secret with id ${secretId} in store ${storeId}`);
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
// Operations (validated, all-or-nothing), shared with the seed loader

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

export function createSecrets(state: EmulatorState, storeId: string, items: NewSecret[], status: SecretRecord["status"] = "pending"): SecretRecord[] {
  requireStore(state, storeId);
  const at = (i: number, field: string) => `/${i}/${field}`;
  throwIfAny(items.flatMap((item, i) => [...checkSecretName(item.name, at(i, "name")), ...checkValue(item.value, at(i, "value")), ...checkScopes(item.scopes, at(i, "scopes"))]));
  checkNamesFree(state, storeId, items.map((i) => i.name));
  checkQuota(state, items.length);
  const created = items.map((item) => {
    const when = timestamp();
    const secret: SecretRecord = {
      id: newId(),
      storeId,
      name: item.name,
      value: item.value,
      scopes: normalizeScopes(item.scopes),
      comment: item.comment ?? "",
      created: when,
      modified: when,
      status,
    };
    state.secrets.set(secret.id, secret);
    return secret;
  });
  state.commit();
  return created;
}

// ---------------------------------------------------------------------------------------------
// Request bodies

const StoreBody = z.strictObject({ name: z.string() });
const CreateStoreBody = z.union([StoreBody, z.array(StoreBody).min(1)]);
const NewSecretBody = z.strictObject({ name: z.string(), value: z.string(), scopes: z.array(z.string()), comment: z.string().optional() });
const CreateSecretsBody = z.array(NewSecretBody).min(1);
const PatchSecretBody = z.strictObject({ value: z.string().optional(), scopes: z.array(z.string()).optional(), comment: z.string().optional() });
const DuplicateSecretBody = z.strictObject({ name: z.string(), scopes: z.array(z.string()), comment: z.string().optional() });
const BulkDeleteBody = z.union([z.strictObject({ ids: z.array(z.string()).min(1) }), z.array(z.string()).min(1)]);

// ---------------------------------------------------------------------------------------------
// Handlers

function listStores(ctx: RequestContext): ApiResponse {
  const q = parseListQuery(ctx.query, { orders: ["name", "created", "modified"], code: INVALID });
  const key = q.order ? (s: StoreRecord) => String(s[q.order as "name" | "created" | "modified"]) : undefined;
  const sorted = sortBy([...ctx.state.stores.values()], key, q.direction);
  const { pageItems, info } = paginate(sorted, q.page, q.perPage);
  return ok(pageItems.map((s) => storeJson(ctx.state, s)), 200, info);
}

function createStore(ctx: RequestContext): ApiResponse {
  const body = parseWith(CreateStoreBody, parseJson(ctx.body, ctx.contentType), INVALID, '{"name": string} (or an array of them)');
  if (Array.isArray(body)) {
    return ok(createStores(ctx.state, body.map((b) => b.name)).map((s) => storeJson(ctx.state, s)));
  }
  const [store] = createStores(ctx.state, [body.name]);
  return ok(storeJson(ctx.state, store!));
}

function getStore(ctx: RequestContext): ApiResponse {
  return ok(storeJson(ctx.state, requireStore(ctx.state, ctx.params.store_id!)));
}

function deleteStore(ctx: RequestContext): ApiResponse {
  const store = requireStore(ctx.state, ctx.params.store_id!);
  const force = ctx.query.get("force");
  if (force !== null && force !== "true" && force !== "false") {
    throw apiError(400, INVALID, `Invalid force "${force}": must be true or false`);
  }
  const secrets = ctx.state.secretsInStore(store.id);
  if (secrets.length > 0 && force !== "true") {
    throw apiError(409, CONFLICT, `store_not_empty: store ${store.id} still holds ${secrets.length} secret(s); delete them first or pass ?force=true`);
  }
  for (const s of secrets) ctx.state.secrets.delete(s.id);
  ctx.state.stores.delete(store.id);
  ctx.state.commit();
  return ok(null);
}

function listSecrets(ctx: RequestContext): ApiResponse {
  const store = requireStore(ctx.state, ctx.params.store_id!);
  const q = parseListQuery(ctx.query, { orders: ["name", "comment", "created", "modified", "status"], code: INVALID });
  const scopes = ctx.query.getAll("scopes").flatMap((s) => s.split(",")).filter((s) => s !== "");
  if (scopes.length) throwIfAny(checkScopes(scopes).map((p) => ({ ...p, message: `Invalid scopes filter: ${p.message}` })));
  const search = (ctx.query.get("search") ?? "").toLowerCase();
  const matches = ctx.state.secretsInStore(store.id).filter(
    (s) =>
      (search === "" || s.name.toLowerCase().includes(search) || s.comment.toLowerCase().includes(search)) &&
      scopes.every((scope) => s.scopes.includes(scope)),
  );
  const key = q.order ? (s: SecretRecord) => String(s[q.order as "name" | "comment" | "created" | "modified" | "status"]) : undefined;
  const { pageItems, info } = paginate(sortBy(matches, key, q.direction), q.page, q.perPage);
  markRead(ctx.state, pageItems);
  return ok(pageItems.map(secretJson), 200, info);
}

function createSecretsHandler(ctx: RequestContext): ApiResponse {
  requireStore(ctx.state, ctx.params.store_id!);
  const body = parseWith(CreateSecretsBody, parseJson(ctx.body, ctx.contentType), INVALID, "a JSON array of {name, value, scopes, comment?}");
  return ok(createSecrets(ctx.state, ctx.params.store_id!, body).map(secretJson));
}

function getSecret(ctx: RequestContext): ApiResponse {
  requireStore(ctx.state, ctx.params.store_id!);
  const secret = requireSecret(ctx.state, ctx.params.store_id!, ctx.params.secret_id!);
  markRead(ctx.state, [secret]);
  return ok(secretJson(secret));
}

function patchSecret(ctx: RequestContext): ApiResponse {
  requireStore(ctx.state, ctx.params.store_id!);
  const secret = requireSecret(ctx.state, ctx.params.store_id!, ctx.params.secret_id!);
  const raw = parseJson(ctx.body, ctx.contentType);
  if (typeof raw === "object" && raw !== null && "name" in raw) {
    throw apiError(400, INVALID, "invalid_request: a secret cannot be renamed (PATCH takes value, scopes and comment); duplicate it under the new name instead");
  }
  const body = parseWith(PatchSecretBody, raw, INVALID, "an object with any of value, scopes, comment");
  throwIfAny([...(body.value !== undefined ? checkValue(body.value, "/value") : []), ...(body.scopes !== undefined ? checkScopes(body.scopes, "/scopes") : [])]);
  if (body.value === undefined && body.scopes === undefined && body.comment === undefined) return ok(secretJson(secret));
  if (body.value !== undefined) {
    secret.value = body.value;
    secret.status = "pending";
  }
  if (body.scopes !== undefined) secret.scopes = normalizeScopes(body.scopes);
  if (body.comment !== undefined) secret.comment = body.comment;
  secret.modified = timestamp();
  ctx.state.commit();
  return ok(secretJson(secret));
}

function deleteSecret(ctx: RequestContext): ApiResponse {
  requireStore(ctx.state, ctx.params.store_id!);
  const secret = requireSecret(ctx.state, ctx.params.store_id!, ctx.params.secret_id!);
  ctx.state.secrets.delete(secret.id);
  ctx.state.commit();
  return ok(null, 202);
}

function bulkDeleteSecrets(ctx: RequestContext): ApiResponse {
  const store = requireStore(ctx.state, ctx.params.store_id!);
  const body = parseWith(BulkDeleteBody, parseJson(ctx.body, ctx.contentType), INVALID, '{"ids": [secret ids]} (or a JSON array of secret ids)');
  const ids = [...new Set(Array.isArray(body) ? body : body.ids)];
  const missing = ids.filter((id) => ctx.state.secrets.get(id)?.storeId !== store.id);
  if (missing.length) {
    throw new ApiError(404, missing.map((id) => ({ code: INVALID, message: `secret_not_found: no secret with id ${id} in store ${store.id} (nothing was deleted)` })));
  }
  for (const id of ids) ctx.state.secrets.delete(id);
  ctx.state.commit();
  return ok(null, 202);
}

function duplicateSecret(ctx: RequestContext): ApiResponse {
  const storeId = ctx.params.store_id!;
  requireStore(ctx.state, storeId);
  const source = requireSecret(ctx.state, storeId, ctx.params.secret_id!);
  const body = parseWith(DuplicateSecretBody, parseJson(ctx.body, ctx.contentType), INVALID, "{name, scopes, comment?}");
  const [copy] = createSecrets(ctx.state, storeId, [{ name: body.name, value: source.value, scopes: body.scopes, comment: body.comment }]);
  return ok(secretJson(copy!));
}

function quota(ctx: RequestContext): ApiResponse {
  return ok({ secrets: { quota: ctx.state.quota, usage: ctx.state.usage() } });
}

const A = "/accounts/:account_id/secrets_store";
export const secretsStoreRoutes: Route[] = [
  { method: "GET", path: `${A}/quota`, handler: quota },
  { method: "GET", path: `${A}/stores`, handler: listStores },
  { method: "POST", path: `${A}/stores`, handler: createStore },
  { method: "GET", path: `${A}/stores/:store_id`, handler: getStore },
  { method: "DELETE", path: `${A}/stores/:store_id`, handler: deleteStore },
  { method: "GET", path: `${A}/stores/:store_id/secrets`, handler: listSecrets },
  { method: "POST", path: `${A}/stores/:store_id/secrets`, handler: createSecretsHandler, bodyLimit: { bytes: MAX_SECRETS_BODY_BYTES, code: 1000 } },
  { method: "DELETE", path: `${A}/stores/:store_id/secrets`, handler: bulkDeleteSecrets },
  { method: "GET", path: `${A}/stores/:store_id/secrets/:secret_id`, handler: getSecret },
  { method: "PATCH", path: `${A}/stores/:store_id/secrets/:secret_id`, handler: patchSecret },
  { method: "DELETE", path: `${A}/stores/:store_id/secrets/:secret_id`, handler: deleteSecret },
  { method: "POST", path: `${A}/stores/:store_id/secrets/:secret_id/duplicate`, handler: duplicateSecret },
];
