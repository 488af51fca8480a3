/**
 * Secrets Store over HTTP: the wire shapes, the request bodies and the handlers. The rules and
 * the operations (all-or-nothing, shared with the seed loader) are in domain/secrets-store.ts.
 * The secret value is write-only: no response ever contains it.
 */
import { z } from "zod";
import { MAX_SECRETS_BODY_BYTES, parseJson } from "../body";
import type { RequestContext, Route } from "../context";
import * as domain from "../domain/secrets-store";
import { SECRETS_STORE_INVALID } from "../domain/secrets-store";
import { apiError, ok, paginate, type HandlerResponse } from "../envelope";
import { type EmulatorState, type SecretRecord, type StoreRecord, secretStatus } from "../state";
import { parseJsonBody, parseListQuery, parseWith, pathParam, sortBy } from "../validation";

// ---------------------------------------------------------------------------------------------
// Wire shapes

export function storeJson(state: EmulatorState, store: StoreRecord): Record<string, unknown> {
  return { id: store.id, name: store.name, created: store.created, modified: store.modified, account_id: state.accountId };
}

/**
 * A secret as the API returns it. `status` is `pending` during its window and `active` after;
 * `justWritten` (the answer of the create, duplicate or value change that started the window)
 * always says `pending`, even when the window is 0 ms.
 */
export function secretJson(secret: SecretRecord, justWritten = false): Record<string, unknown> {
  return {
    id: secret.id,
    name: secret.name,
    store_id: secret.storeId,
    status: justWritten ? "pending" : secretStatus(secret),
    scopes: [...secret.scopes],
    comment: secret.comment,
    created: secret.created,
    modified: secret.modified,
  };
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
// Handlers. Each looks up the store (and secret) named in the path before it parses the body, so
// a missing one answers 404 before a bad body answers 400; the domain operation then runs every
// other check.

function listStores(ctx: RequestContext): HandlerResponse {
  const q = parseListQuery(ctx.query, { orders: ["name", "created", "modified"], code: SECRETS_STORE_INVALID });
  const key = q.order ? (s: StoreRecord) => String(s[q.order as "name" | "created" | "modified"]) : undefined;
  const sorted = sortBy([...ctx.state.stores.values()], key, q.direction);
  const { pageItems, info } = paginate(sorted, q.page, q.perPage);
  return ok(
    pageItems.map((s) => storeJson(ctx.state, s)),
    200,
    info,
  );
}

function createStore(ctx: RequestContext): HandlerResponse {
  const body = parseJsonBody(ctx, CreateStoreBody, SECRETS_STORE_INVALID, '{"name": string} (or an array of them)');
  if (Array.isArray(body)) {
    return ok(
      domain
        .createStores(
          ctx.state,
          body.map((b) => b.name),
        )
        .map((s) => storeJson(ctx.state, s)),
    );
  }
  const [store] = domain.createStores(ctx.state, [body.name]);
  if (!store) throw new Error("createStores returned no store for the one name it was given");
  return ok(storeJson(ctx.state, store));
}

function getStore(ctx: RequestContext): HandlerResponse {
  return ok(storeJson(ctx.state, domain.requireStore(ctx.state, pathParam(ctx, "store_id"))));
}

function deleteStore(ctx: RequestContext): HandlerResponse {
  domain.requireStore(ctx.state, pathParam(ctx, "store_id"));
  const force = ctx.query.get("force");
  if (force !== null && force !== "true" && force !== "false") {
    throw apiError(400, SECRETS_STORE_INVALID, `Invalid force "${force}": must be true or false`);
  }
  domain.deleteStore(ctx.state, pathParam(ctx, "store_id"), force === "true");
  return ok(null);
}

function listSecrets(ctx: RequestContext): HandlerResponse {
  const store = domain.requireStore(ctx.state, pathParam(ctx, "store_id"));
  const q = parseListQuery(ctx.query, { orders: ["name", "comment", "created", "modified", "status"], code: SECRETS_STORE_INVALID });
  const scopes = ctx.query
    .getAll("scopes")
    .flatMap((s) => s.split(","))
    .filter((s) => s !== "");
  if (scopes.length) domain.throwIfAny(domain.checkScopes(scopes).map((p) => ({ ...p, message: `Invalid scopes filter: ${p.message}` })));
  const search = (ctx.query.get("search") ?? "").toLowerCase();
  const matches = ctx.state
    .secretsInStore(store.id)
    .filter(
      (s) =>
        (search === "" || s.name.toLowerCase().includes(search) || s.comment.toLowerCase().includes(search)) &&
        scopes.every((scope) => s.scopes.includes(scope)),
    );
  const now = Date.now();
  const key = q.order
    ? (s: SecretRecord) => (q.order === "status" ? secretStatus(s, now) : String(s[q.order as "name" | "comment" | "created" | "modified"]))
    : undefined;
  const { pageItems, info } = paginate(sortBy(matches, key, q.direction), q.page, q.perPage);
  return ok(
    pageItems.map((s) => secretJson(s)),
    200,
    info,
  );
}

function createSecrets(ctx: RequestContext): HandlerResponse {
  domain.requireStore(ctx.state, pathParam(ctx, "store_id"));
  const body = parseJsonBody(ctx, CreateSecretsBody, SECRETS_STORE_INVALID, "a JSON array of {name, value, scopes, comment?}");
  return ok(domain.createSecrets(ctx.state, pathParam(ctx, "store_id"), body).map((s) => secretJson(s, true)));
}

function getSecret(ctx: RequestContext): HandlerResponse {
  domain.requireStore(ctx.state, pathParam(ctx, "store_id"));
  return ok(secretJson(domain.requireSecret(ctx.state, pathParam(ctx, "store_id"), pathParam(ctx, "secret_id"))));
}

function patchSecret(ctx: RequestContext): HandlerResponse {
  domain.requireStore(ctx.state, pathParam(ctx, "store_id"));
  const secret = domain.requireSecret(ctx.state, pathParam(ctx, "store_id"), pathParam(ctx, "secret_id"));
  const raw = parseJson(ctx.body, ctx.contentType);
  if (typeof raw === "object" && raw !== null && "name" in raw) {
    throw apiError(
      400,
      SECRETS_STORE_INVALID,
      "invalid_request: a secret cannot be renamed (PATCH takes value, scopes and comment); duplicate it under the new name instead",
    );
  }
  const body = parseWith(PatchSecretBody, raw, SECRETS_STORE_INVALID, "an object with any of value, scopes, comment");
  return ok(secretJson(domain.patchSecret(ctx.state, secret.storeId, secret.id, body), body.value !== undefined));
}

function deleteSecret(ctx: RequestContext): HandlerResponse {
  domain.deleteSecret(ctx.state, pathParam(ctx, "store_id"), pathParam(ctx, "secret_id"));
  return ok(null, 202);
}

function bulkDeleteSecrets(ctx: RequestContext): HandlerResponse {
  const store = domain.requireStore(ctx.state, pathParam(ctx, "store_id"));
  const body = parseJsonBody(ctx, BulkDeleteBody, SECRETS_STORE_INVALID, '{"ids": [secret ids]} (or a JSON array of secret ids)');
  domain.deleteSecrets(ctx.state, store.id, Array.isArray(body) ? body : body.ids);
  return ok(null, 202);
}

function duplicateSecret(ctx: RequestContext): HandlerResponse {
  const storeId = pathParam(ctx, "store_id");
  domain.requireStore(ctx.state, storeId);
  const source = domain.requireSecret(ctx.state, storeId, pathParam(ctx, "secret_id"));
  const body = parseJsonBody(ctx, DuplicateSecretBody, SECRETS_STORE_INVALID, "{name, scopes, comment?}");
  return ok(secretJson(domain.duplicateSecret(ctx.state, storeId, source.id, body), true));
}

function quota(ctx: RequestContext): HandlerResponse {
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
  { method: "POST", path: `${A}/stores/:store_id/secrets`, handler: createSecrets, bodyLimit: { bytes: MAX_SECRETS_BODY_BYTES, code: 1000 } },
  { method: "DELETE", path: `${A}/stores/:store_id/secrets`, handler: bulkDeleteSecrets },
  { method: "GET", path: `${A}/stores/:store_id/secrets/:secret_id`, handler: getSecret },
  { method: "PATCH", path: `${A}/stores/:store_id/secrets/:secret_id`, handler: patchSecret },
  { method: "DELETE", path: `${A}/stores/:store_id/secrets/:secret_id`, handler: deleteSecret },
  { method: "POST", path: `${A}/stores/:store_id/secrets/:secret_id/duplicate`, handler: duplicateSecret },
];
