/**
 * A Worker's secret bindings (`secret_text`, `secret_key`), the routes `wrangler secret put`,
 * `list`, `delete` and `bulk` call. Each change keeps every other binding and makes a new
 * version. Responses never hold a secret's text or key material.
 *
 *   PUT    …/scripts/:name/secrets                 {name, text, type: "secret_text"} (or a secret_key)
 *   GET    …/scripts/:name/secrets                 → [{name, type}]
 *   GET    …/scripts/:name/secrets/:secret_name    → {name, type}
 *   DELETE …/scripts/:name/secrets/:secret_name    (wrangler adds ?url_encoded=true)
 *   PATCH  …/scripts/:name/secrets-bulk            {secrets: {NAME: {name, text, type} | null}} (JSON merge patch)
 */
import { z } from "zod";
import type { RequestContext, Route } from "../context";
import { WORKERS_INVALID, deployNewVersion, requireWorker, resolveBindings } from "../domain/workers";
import { ApiError, apiError, ok, type ApiMessage, type HandlerResponse } from "../envelope";
import type { BindingRecord, WorkerRecord } from "../state";
import { pathParam, parseJsonBody } from "../validation";
import { bindingJson, sourceOf } from "./workers";

const NAME_IN_USE = 10053; // "Binding name 'X' already in use. Please use a different name and try again."
const SECRET_NOT_FOUND = 10056; // "Binding 'X' not found."
const SECRET_TYPES = new Set(["secret_text", "secret_key"]);

const SecretText = z.looseObject({ name: z.string().min(1), type: z.literal("secret_text"), text: z.string() });
const SecretKey = z.looseObject({
  name: z.string().min(1),
  type: z.literal("secret_key"),
  format: z.enum(["raw", "pkcs8", "spki", "jwk"]),
  algorithm: z.unknown(),
  usages: z.array(z.string()),
});
const SecretBody = z.discriminatedUnion("type", [SecretText, SecretKey]);
type SecretBody = z.infer<typeof SecretBody>;
const BulkBody = z.looseObject({
  secrets: z.record(z.string(), SecretBody.nullable()).optional(),
  version_tags: z.record(z.string(), z.unknown()).optional(),
});

const isSecret = (b: BindingRecord) => SECRET_TYPES.has(b.type);

/** A name held by a binding that is not a secret cannot become a secret. */
function nameInUse(worker: WorkerRecord, name: string): ApiMessage | undefined {
  const holder = worker.bindings.find((b) => b.name === name);
  if (!holder || isSecret(holder)) return undefined;
  return { code: NAME_IN_USE, message: `Binding name '${name}' already in use. Please use a different name and try again.` };
}

/** `bindings` with `secret` in place of the binding of the same name, or appended. */
function withSecret(bindings: BindingRecord[], secret: BindingRecord): BindingRecord[] {
  const at = bindings.findIndex((b) => b.name === secret.name);
  return at === -1 ? [...bindings, secret] : bindings.map((b, i) => (i === at ? secret : b));
}

function secretsOf(worker: WorkerRecord): Array<Record<string, unknown>> {
  return worker.bindings.filter(isSecret).map(bindingJson);
}

function putSecret(ctx: RequestContext): HandlerResponse {
  const body = parseJsonBody(ctx, SecretBody, WORKERS_INVALID, '{"name", "text", "type": "secret_text"} (or a secret_key binding)');
  const worker = requireWorker(ctx.state, pathParam(ctx, "script_name"));
  const clash = nameInUse(worker, body.name);
  if (clash) throw new ApiError(400, [clash]);
  const [secret] = resolveBindings(ctx.state, [body], []);
  if (!secret) throw new Error("resolveBindings returned no binding for the one it was given");
  worker.bindings = withSecret(worker.bindings, secret);
  deployNewVersion(worker, sourceOf(ctx));
  ctx.state.commit();
  return ok(bindingJson(secret));
}

function listSecrets(ctx: RequestContext): HandlerResponse {
  return ok(secretsOf(requireWorker(ctx.state, pathParam(ctx, "script_name"))));
}

function findSecret(worker: WorkerRecord, name: string): BindingRecord {
  const secret = worker.bindings.find((b) => b.name === name && isSecret(b));
  if (!secret) throw apiError(404, SECRET_NOT_FOUND, `Binding '${name}' not found.`);
  return secret;
}

function getSecret(ctx: RequestContext): HandlerResponse {
  const worker = requireWorker(ctx.state, pathParam(ctx, "script_name"));
  return ok(bindingJson(findSecret(worker, pathParam(ctx, "secret_name"))));
}

function deleteSecret(ctx: RequestContext): HandlerResponse {
  const worker = requireWorker(ctx.state, pathParam(ctx, "script_name"));
  const secret = findSecret(worker, pathParam(ctx, "secret_name"));
  worker.bindings = worker.bindings.filter((b) => b !== secret);
  deployNewVersion(worker, sourceOf(ctx));
  ctx.state.commit();
  return ok(null);
}

/** Every problem with a bulk patch's entries: a `name` unlike its key, or a name a non-secret binding holds. */
function bulkProblems(worker: WorkerRecord, entries: Array<[string, SecretBody | null]>): ApiMessage[] {
  const problems: ApiMessage[] = [];
  for (const [key, value] of entries) {
    if (key === "") problems.push({ code: WORKERS_INVALID, message: "Invalid request body at secrets: a secret name must not be empty" });
    if (value && value.name !== key) {
      problems.push({
        code: WORKERS_INVALID,
        message: `Invalid request body at secrets.${key}: its name "${value.name}" must equal its key`,
        source: { pointer: `/secrets/${key}/name` },
      });
    }
    const clash = nameInUse(worker, key);
    if (clash) problems.push(clash);
  }
  return problems;
}

/** JSON merge patch of the secrets: a binding object creates or replaces, null deletes, absent keeps. */
function patchSecretsBulk(ctx: RequestContext): HandlerResponse {
  const body = parseJsonBody(ctx, BulkBody, WORKERS_INVALID, '{"secrets": {NAME: {"name": NAME, "text", "type": "secret_text"} or null}}');
  const worker = requireWorker(ctx.state, pathParam(ctx, "script_name"));
  const entries = Object.entries(body.secrets ?? {});
  const problems = bulkProblems(worker, entries);
  if (problems.length) throw new ApiError(400, problems);
  if (entries.length === 0) return ok(Object.fromEntries(secretsOf(worker).map((s) => [s.name, s])));
  let bindings = worker.bindings;
  const upserts = entries.filter((e): e is [string, SecretBody] => e[1] !== null).map(([, v]) => v);
  for (const secret of resolveBindings(ctx.state, upserts, [])) bindings = withSecret(bindings, secret);
  const deleted = new Set(entries.filter(([, v]) => v === null).map(([k]) => k));
  worker.bindings = bindings.filter((b) => !(deleted.has(b.name) && isSecret(b)));
  deployNewVersion(worker, sourceOf(ctx));
  ctx.state.commit();
  return ok(Object.fromEntries(secretsOf(worker).map((s) => [s.name, s])));
}

const S = "/accounts/:account_id/workers/scripts/:script_name";
/** A Worker's secret bindings: what `wrangler secret put|list|delete|bulk` call. */
export const workerSecretRoutes: Route[] = [
  { method: "PUT", path: `${S}/secrets`, handler: putSecret },
  { method: "GET", path: `${S}/secrets`, handler: listSecrets },
  { method: "GET", path: `${S}/secrets/:secret_name`, handler: getSecret },
  { method: "DELETE", path: `${S}/secrets/:secret_name`, handler: deleteSecret },
  { method: "PATCH", path: `${S}/secrets-bulk`, handler: patchSecretsBulk },
];
