/**
 * Workers: just enough of the Workers API to upload a Worker and read or change its bindings
 * and settings the way wrangler, the SDK and our provider do. Script code is not kept (only the
 * names of the uploaded parts). Every check runs before any change, and every handler parses
 * its whole body before it reads the state (see server.ts on concurrency).
 *
 * Every change to code, bindings or version-level settings makes a new version and deploys it
 * (a new `version_id` and deployment); `script-settings` changes do not.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import { MAX_UPLOAD_BODY_BYTES, formObject, parseJson, parseMultipart } from "../body";
import type { BodyLimit, RequestContext, Route } from "../context";
import { ApiError, apiError, ok, type ApiMessage, type ApiResponse } from "../envelope";
import { type BindingRecord, type EmulatorState, type VersionFields, type WorkerRecord, newId, timestamp } from "../state";
import { parseWith } from "../validation";

export const INVALID = 10021; // Cloudflare's Workers validation error code
export const NOT_FOUND = 10007; // workers.api.error.script_not_found
/** Upload bodies may be large (code 10027 is what wrangler reads as "Worker too large"). */
export const UPLOAD_LIMIT: BodyLimit = { bytes: MAX_UPLOAD_BODY_BYTES, code: 10027 };
const STORE_SECRET_NOT_FOUND = 10182; // "Secrets Store binding '…' references store '…' and secret '…' which were not found."
const MISSING_SETTINGS = 10201; // what Cloudflare answers a settings PATCH without a "settings" part

/** Worker names: lowercase letters, digits, dashes and underscores, up to 63 characters. */
export const SCRIPT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

// ---------------------------------------------------------------------------------------------
// Request bodies

const boolish = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);
const intish = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

export const BindingInput = z.looseObject({ name: z.string().min(1), type: z.string().min(1) });
export type BindingInput = z.infer<typeof BindingInput>;

const scriptLevel = {
  logpush: boolish.optional(),
  observability: z.looseObject({ enabled: boolish.optional() }).nullable().optional(),
  tags: z.array(z.string().max(1024)).max(10).nullable().optional(),
  tail_consumers: z.array(z.looseObject({ service: z.string() })).nullable().optional(),
};
const versionLevel = {
  bindings: z.array(BindingInput).optional(),
  compatibility_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD").optional(),
  compatibility_flags: z.array(z.string()).optional(),
  placement: z.looseObject({}).nullable().optional(),
  usage_model: z.enum(["standard", "bundled", "unbound"]).optional(),
  limits: z.looseObject({ cpu_ms: intish.optional() }).nullable().optional(),
};
const ScriptSettingsBody = z.looseObject(scriptLevel);
const SettingsBody = z.looseObject({ ...scriptLevel, ...versionLevel });
/** The `metadata` part of a Worker upload (unknown fields are ignored). */
export const UploadMetadata = z.looseObject({
  ...scriptLevel,
  ...versionLevel,
  main_module: z.string().optional(),
  body_part: z.string().optional(),
  keep_bindings: z.array(z.string()).optional(),
});
type SettingsBody = z.infer<typeof SettingsBody>;
export type UploadMetadata = z.infer<typeof UploadMetadata>;

// ---------------------------------------------------------------------------------------------
// Wire shapes

/** A binding as GET returns it: secret_text loses its text, secret_key its key material. */
export function bindingJson(b: BindingRecord): Record<string, unknown> {
  if (b.type === "secret_text") return { name: b.name, type: b.type };
  if (b.type === "secret_key") {
    const { key_base64: _k, key_jwk: _j, ...rest } = b;
    return rest;
  }
  return { ...b };
}

/** Unset observability, as wrangler also sends it when the config has none. */
const OBSERVABILITY_OFF = { enabled: false };

/** YYYY-MM-DD of a timestamp (the upload day stands in for a missing compatibility date). */
const day = (at: string) => at.slice(0, 10);

/** `GET/PATCH …/settings`: objects, arrays and strings where the schema has them, never null. */
function settingsJson(w: WorkerRecord): Record<string, unknown> {
  return {
    bindings: w.bindings.map(bindingJson),
    compatibility_date: w.compatibility_date ?? day(w.created_on),
    compatibility_flags: w.compatibility_flags,
    logpush: w.logpush,
    observability: w.observability ?? OBSERVABILITY_OFF,
    placement: w.placement ?? {},
    tags: w.tags,
    tail_consumers: w.tail_consumers ?? [],
    usage_model: w.usage_model,
    limits: w.limits ?? {},
  };
}

function scriptSettingsJson(w: WorkerRecord): Record<string, unknown> {
  return { logpush: w.logpush, observability: w.observability ?? OBSERVABILITY_OFF, tags: w.tags, tail_consumers: w.tail_consumers ?? [] };
}

/** A Worker as the script list and the upload answer it. */
export function scriptJson(w: WorkerRecord): Record<string, unknown> {
  return {
    id: w.name,
    tag: w.tag,
    etag: w.etag,
    created_on: w.created_on,
    modified_on: w.modified_on,
    compatibility_date: w.compatibility_date ?? day(w.created_on),
    compatibility_flags: w.compatibility_flags,
    has_modules: w.main_module !== null,
    handlers: ["fetch"],
    last_deployed_from: w.last_deployed_from,
    logpush: w.logpush,
    tags: w.tags,
    tail_consumers: w.tail_consumers ?? [],
    usage_model: w.usage_model,
  };
}

/** The Worker called `name`, or Cloudflare's 404 (10007). */
export function requireWorker(state: EmulatorState, name: string): WorkerRecord {
  const worker = state.workers.get(name);
  if (!worker) throw apiError(404, NOT_FOUND, "This Worker does not exist on your account.");
  return worker;
}

// ---------------------------------------------------------------------------------------------
// Bindings

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/**
 * The binding list that replaces `previous`, or a 400 listing every problem. `secret_text` /
 * `secret_key` sent without their value keep the stored one, as does `inherit` (optionally
 * renaming from `old_name`). A `secrets_store_secret` must name a store of this account and a
 * secret in it whose scopes include `workers`.
 */
export function resolveBindings(state: EmulatorState, inputs: BindingInput[], previous: BindingRecord[]): BindingRecord[] {
  const problems: ApiMessage[] = [];
  const invalid = (i: number, message: string, code = INVALID) => problems.push({ code, message, source: { pointer: `/bindings/${i}` } });
  const before = new Map(previous.map((b) => [b.name, b]));
  const seen = new Set<string>();
  const out: BindingRecord[] = [];

  inputs.forEach((input, i) => {
    const { name, type } = input;
    if (seen.has(name)) invalid(i, `Binding name "${name}" is used by more than one binding; binding names must be unique`);
    seen.add(name);
    const old = before.get(name);
    switch (type) {
      case "inherit": {
        const from = str(input.old_name) ? input.old_name : name;
        const source = before.get(from);
        if (!source) invalid(i, `Binding "${name}" (inherit) has no binding named "${from}" to inherit from`);
        else out.push({ ...structuredClone(source), name });
        return;
      }
      case "secret_text": {
        if (typeof input.text === "string") out.push({ name, type, text: input.text });
        else if (old?.type === "secret_text") out.push({ ...old });
        else invalid(i, `Binding "${name}" (secret_text) needs a "text" value: there is no stored secret_text binding of that name to keep`);
        return;
      }
      case "secret_key": {
        if (input.key_base64 !== undefined || input.key_jwk !== undefined) out.push({ ...input });
        else if (old?.type === "secret_key") out.push({ ...old, ...input, key_base64: old.key_base64, key_jwk: old.key_jwk });
        else invalid(i, `Binding "${name}" (secret_key) needs key_base64 or key_jwk: there is no stored secret_key binding of that name to keep`);
        return;
      }
      case "plain_text": {
        if (typeof input.text !== "string") invalid(i, `Binding "${name}" (plain_text) needs a "text" string`);
        else out.push({ name, type, text: input.text });
        return;
      }
      case "secrets_store_secret": {
        const { store_id, secret_name } = input;
        if (!str(store_id) || !str(secret_name)) {
          invalid(i, `Binding "${name}" (secrets_store_secret) needs "store_id" and "secret_name" strings`);
          return;
        }
        const secret = state.stores.has(store_id) ? state.findSecretByName(store_id, secret_name) : undefined;
        if (!secret) {
          invalid(i, `Secrets Store binding '${name}' references store '${store_id}' and secret '${secret_name}' which were not found.`, STORE_SECRET_NOT_FOUND);
        } else if (!secret.scopes.includes("workers")) {
          invalid(
            i,
            `Secrets store binding authorization failed for binding '${name}': secret '${secret_name}' in store '${store_id}' does not have the "workers" scope (its scopes: ${secret.scopes.join(", ")})`,
          );
        } else {
          out.push({ name, type, store_id, secret_name });
        }
        return;
      }
      default:
        out.push({ ...input });
    }
  });
  if (problems.length) throw new ApiError(400, problems);
  return out;
}

/** What the binding returns inside the Worker right now (`await env.X.get()` or the secret text). */
export function bindingValue(state: EmulatorState, worker: WorkerRecord, bindingName: string): string {
  const binding = worker.bindings.find((b) => b.name === bindingName);
  if (!binding) throw apiError(404, INVALID, `Worker "${worker.name}" has no binding named "${bindingName}"`);
  switch (binding.type) {
    case "secret_text":
    case "plain_text":
      return String(binding.text);
    case "secrets_store_secret": {
      const storeId = String(binding.store_id);
      const secretName = String(binding.secret_name);
      if (!state.stores.has(storeId)) throw apiError(404, STORE_SECRET_NOT_FOUND, `Binding "${bindingName}": store ${storeId} does not exist (any more)`);
      const secret = state.findSecretByName(storeId, secretName);
      if (!secret) throw apiError(404, STORE_SECRET_NOT_FOUND, `Binding "${bindingName}": secret "${secretName}" does not exist in store ${storeId} (any more)`);
      if (!secret.scopes.includes("workers")) {
        throw apiError(404, INVALID, `Binding "${bindingName}": secret "${secretName}" in store ${storeId} no longer has the "workers" scope, so the Worker cannot read it`);
      }
      return secret.value;
    }
    default:
      throw apiError(400, INVALID, `Binding "${bindingName}" is of type ${binding.type}, which has no string value`);
  }
}

// ---------------------------------------------------------------------------------------------
// Handlers

function applyScriptLevel(w: WorkerRecord, body: z.infer<typeof ScriptSettingsBody>): void {
  if (body.logpush !== undefined) w.logpush = body.logpush;
  if (body.observability !== undefined) w.observability = body.observability;
  if (body.tags !== undefined) w.tags = body.tags ?? [];
  if (body.tail_consumers !== undefined) w.tail_consumers = body.tail_consumers;
}

function applyVersionLevel(w: VersionFields, body: SettingsBody): void {
  if (body.compatibility_date !== undefined) w.compatibility_date = body.compatibility_date;
  if (body.compatibility_flags !== undefined) w.compatibility_flags = body.compatibility_flags;
  if (body.placement !== undefined) w.placement = body.placement;
  if (body.usage_model !== undefined) w.usage_model = body.usage_model;
  if (body.limits !== undefined) w.limits = body.limits;
}

/** Mark `w` changed: a new `modified_on` and `etag` (no new version). */
export function touch(w: WorkerRecord): void {
  w.modified_on = timestamp();
  w.etag = randomBytes(32).toString("hex");
}

/** "wrangler" for wrangler's requests (its User-Agent), "api" for every other client. */
export function sourceOf(ctx: RequestContext): string {
  return /^wrangler\//i.test(ctx.userAgent) ? "wrangler" : "api";
}

/** The Worker now runs a new version (made by `source`), deployed at once to all traffic. */
export function deployNewVersion(w: WorkerRecord, source: string, annotations: Record<string, unknown> = {}, versionId: string = randomUUID()): void {
  touch(w);
  w.version_id = versionId;
  w.last_deployed_from = source;
  w.deployment = { id: randomUUID(), created_on: w.modified_on, source, annotations };
}

/** A Worker with no code, no bindings and default settings; `source` is who creates it ("api" or "wrangler"). */
export function newWorker(name: string, source = "api"): WorkerRecord {
  const at = timestamp();
  return {
    name,
    tag: newId(),
    etag: randomBytes(32).toString("hex"),
    created_on: at,
    modified_on: at,
    main_module: null,
    modules: [],
    bindings: [],
    compatibility_date: day(at),
    compatibility_flags: [],
    logpush: false,
    observability: null,
    placement: null,
    tags: [],
    tail_consumers: null,
    usage_model: "standard",
    limits: null,
    version_id: randomUUID(),
    last_deployed_from: source,
    deployment: { id: randomUUID(), created_on: at, source, annotations: {} },
    subdomain: { enabled: false, previews_enabled: false },
    pending_versions: [],
  };
}

function listScripts(ctx: RequestContext): ApiResponse {
  return ok([...ctx.state.workers.values()].map(scriptJson));
}

/** A 400 (10021) unless `name` is a valid Worker name (SCRIPT_NAME). */
export function checkScriptName(name: string): void {
  if (!SCRIPT_NAME.test(name)) {
    throw apiError(400, INVALID, `Invalid Worker name "${name}": use lowercase letters, digits, "-" and "_" (at most 63 characters, starting with a letter or digit)`);
  }
}

/** A parsed Worker upload (`PUT …/scripts/:name` or `POST …/versions`): its metadata and part names. */
export interface Upload {
  meta: UploadMetadata;
  parts: string[];
}

/** Parse and check a multipart Worker upload (nothing in the state is read). */
export async function parseUpload(ctx: RequestContext): Promise<Upload> {
  const form = await parseMultipart(ctx.body, ctx.contentType, INVALID);
  const metadata = await formObject(form, "metadata", {
    allowBrackets: ctx.acceptBracketMultipart,
    missing: { code: INVALID, message: 'Missing metadata part in multipart upload: the upload needs a part named "metadata" holding JSON' },
    invalidCode: INVALID,
  });
  const meta = parseWith(UploadMetadata, metadata, INVALID, "upload metadata {main_module, bindings, compatibility_date, ...}");
  const parts = [...new Set([...form.keys()].filter((k) => k !== "metadata" && !k.startsWith("metadata[")))];
  const entry = meta.main_module ?? meta.body_part;
  if (entry === undefined) throw apiError(400, INVALID, "The upload metadata must name main_module (ES modules) or body_part (service worker)");
  if (!parts.includes(entry)) {
    throw apiError(400, INVALID, `No such module "${entry}": the upload has ${parts.length ? `parts ${parts.map((p) => `"${p}"`).join(", ")}` : "no module parts"}`);
  }
  return { meta, parts };
}

/**
 * The version an upload describes, on top of `previous` bindings: a new version replaces every
 * version-level setting (those not given go back to their defaults); `keep_bindings` keeps
 * earlier bindings of the listed types.
 */
export function uploadedVersion(state: EmulatorState, upload: Upload, previous: BindingRecord[]): VersionFields {
  const { meta, parts } = upload;
  const bindings = resolveBindings(state, meta.bindings ?? [], previous);
  for (const kept of previous) {
    if (meta.keep_bindings?.includes(kept.type) && !bindings.some((b) => b.name === kept.name)) bindings.push(structuredClone(kept));
  }
  const version: VersionFields = {
    main_module: meta.main_module ?? null,
    modules: parts,
    bindings,
    compatibility_date: day(new Date().toISOString()),
    compatibility_flags: [],
    placement: null,
    usage_model: "standard",
    limits: null,
  };
  applyVersionLevel(version, meta);
  return version;
}

async function uploadScript(ctx: RequestContext): Promise<ApiResponse> {
  const name = ctx.params.script_name!;
  checkScriptName(name);
  const upload = await parseUpload(ctx);
  const existing = ctx.state.workers.get(name);
  const worker = existing ?? newWorker(name, sourceOf(ctx));
  Object.assign(worker, uploadedVersion(ctx.state, upload, existing?.bindings ?? []));
  applyScriptLevel(worker, upload.meta);
  if (existing) deployNewVersion(worker, sourceOf(ctx));
  ctx.state.workers.set(name, worker);
  ctx.state.commit();
  return ok({ ...scriptJson(worker), deployment_id: worker.version_id, startup_time_ms: 0 });
}

function deleteScript(ctx: RequestContext): ApiResponse {
  requireWorker(ctx.state, ctx.params.script_name!);
  ctx.state.workers.delete(ctx.params.script_name!);
  ctx.state.commit();
  return ok(null);
}

function getSettings(ctx: RequestContext): ApiResponse {
  return ok(settingsJson(requireWorker(ctx.state, ctx.params.script_name!)));
}

async function patchSettings(ctx: RequestContext): Promise<ApiResponse> {
  requireWorker(ctx.state, ctx.params.script_name!);
  const form = await parseMultipart(ctx.body, ctx.contentType, INVALID);
  const settings = await formObject(form, "settings", {
    allowBrackets: ctx.acceptBracketMultipart,
    missing: { code: MISSING_SETTINGS, message: "Missing settings part in multipart upload. Ensure you include a settings part in the upload." },
    invalidCode: INVALID,
  });
  const body = parseWith(SettingsBody, settings, INVALID, "settings {bindings?, compatibility_date?, ...}");
  // The body is parsed: from here on nothing awaits, so no other request interleaves.
  const worker = requireWorker(ctx.state, ctx.params.script_name!);
  const bindings = body.bindings !== undefined ? resolveBindings(ctx.state, body.bindings, worker.bindings) : undefined;
  if (bindings) worker.bindings = bindings;
  applyVersionLevel(worker, body);
  applyScriptLevel(worker, body);
  deployNewVersion(worker, sourceOf(ctx));
  ctx.state.commit();
  return ok(settingsJson(worker));
}

function getScriptSettings(ctx: RequestContext): ApiResponse {
  return ok(scriptSettingsJson(requireWorker(ctx.state, ctx.params.script_name!)));
}

/** JSON; script-level settings only. A `bindings` key is ignored here, as the schema has none. */
function patchScriptSettings(ctx: RequestContext): ApiResponse {
  const worker = requireWorker(ctx.state, ctx.params.script_name!);
  const body = parseWith(ScriptSettingsBody, parseJson(ctx.body, ctx.contentType), INVALID, "script settings {logpush?, observability?, tags?, tail_consumers?}");
  applyScriptLevel(worker, body);
  touch(worker);
  ctx.state.commit();
  return ok(scriptSettingsJson(worker));
}

const S = "/accounts/:account_id/workers/scripts";
/** Upload, delete and list Workers; their settings and script settings. */
export const workersRoutes: Route[] = [
  { method: "GET", path: S, handler: listScripts },
  { method: "PUT", path: `${S}/:script_name`, handler: uploadScript, bodyLimit: UPLOAD_LIMIT },
  { method: "DELETE", path: `${S}/:script_name`, handler: deleteScript },
  { method: "GET", path: `${S}/:script_name/settings`, handler: getSettings },
  { method: "PATCH", path: `${S}/:script_name/settings`, handler: patchSettings },
  { method: "GET", path: `${S}/:script_name/script-settings`, handler: getScriptSettings },
  { method: "PATCH", path: `${S}/:script_name/script-settings`, handler: patchScriptSettings },
];
