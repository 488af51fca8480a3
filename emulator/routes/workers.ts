/**
 * Workers over HTTP: just enough of the Workers API to upload a Worker and read or change its
 * bindings and settings the way wrangler, the SDK and our provider do. This file holds the request
 * bodies, the wire shapes and the handlers; the rules and operations (bindings, versions,
 * deployments) are in domain/workers.ts. Script code is not kept (only the names of the uploaded
 * parts). Every handler parses its whole body before it reads the state (see server.ts on
 * concurrency).
 */
import { z } from "zod";
import { MAX_UPLOAD_BODY_BYTES, formObject, parseMultipart, type FormObjectRules } from "../body";
import type { BodyLimit, RequestContext, Route } from "../context";
import * as domain from "../domain/workers";
import { BindingInput, CompatibilityDate, WORKERS_INVALID, day } from "../domain/workers";
import { apiError, ok, type HandlerResponse } from "../envelope";
import type { BindingRecord, WorkerRecord } from "../state";
import { pathParam, parseJsonBody, parseWith } from "../validation";

/** Upload bodies may be large (code 10027 is what wrangler reads as "Worker too large"). */
export const UPLOAD_LIMIT: BodyLimit = { bytes: MAX_UPLOAD_BODY_BYTES, code: 10027 };
const MISSING_SETTINGS = 10201; // what Cloudflare answers a settings PATCH without a "settings" part

// ---------------------------------------------------------------------------------------------
// Request bodies

const boolish = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);
const intish = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

const scriptLevel = {
  logpush: boolish.optional(),
  observability: z.looseObject({ enabled: boolish.optional() }).nullable().optional(),
  tags: z.array(z.string().max(1024)).max(10).nullable().optional(),
  tail_consumers: z
    .array(z.looseObject({ service: z.string() }))
    .nullable()
    .optional(),
};
const versionLevel = {
  bindings: z.array(BindingInput).optional(),
  compatibility_date: CompatibilityDate.optional(),
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

// ---------------------------------------------------------------------------------------------
// Handlers

/** "wrangler" for wrangler's requests (its User-Agent), "api" for every other client. */
export function sourceOf(ctx: RequestContext): string {
  return /^wrangler\//i.test(ctx.userAgent) ? "wrangler" : "api";
}

function listScripts(ctx: RequestContext): HandlerResponse {
  return ok([...ctx.state.workers.values()].map(scriptJson));
}

/** A parsed Worker upload (`PUT …/scripts/:name` or `POST …/versions`): its metadata and part names. */
export interface Upload {
  meta: UploadMetadata;
  parts: string[];
}

/** What the domain takes from a parsed upload. */
export function workerUpload(upload: Upload): domain.WorkerUpload {
  return { ...upload.meta, parts: upload.parts };
}

/** A multipart body and the JSON object in its part `name` (or its bracket-notation fields, when accepted). */
async function multipartJson(ctx: RequestContext, name: string, missing: FormObjectRules["missing"]): Promise<{ form: FormData; json: unknown }> {
  const form = await parseMultipart(ctx.body, ctx.contentType, WORKERS_INVALID);
  const json = await formObject(form, name, { allowBrackets: ctx.acceptBracketMultipart, missing, invalidCode: WORKERS_INVALID });
  return { form, json };
}

/** Parse and check a multipart Worker upload (nothing in the state is read). */
export async function parseUpload(ctx: RequestContext): Promise<Upload> {
  const { form, json: metadata } = await multipartJson(ctx, "metadata", {
    code: WORKERS_INVALID,
    message: 'Missing metadata part in multipart upload: the upload needs a part named "metadata" holding JSON',
  });
  const meta = parseWith(UploadMetadata, metadata, WORKERS_INVALID, "upload metadata {main_module, bindings, compatibility_date, ...}");
  const parts = [...new Set([...form.keys()].filter((k) => k !== "metadata" && !k.startsWith("metadata[")))];
  const entry = meta.main_module ?? meta.body_part;
  if (entry === undefined) throw apiError(400, WORKERS_INVALID, "The upload metadata must name main_module (ES modules) or body_part (service worker)");
  if (!parts.includes(entry)) {
    throw apiError(
      400,
      WORKERS_INVALID,
      `No such module "${entry}": the upload has ${parts.length ? `parts ${parts.map((p) => `"${p}"`).join(", ")}` : "no module parts"}`,
    );
  }
  return { meta, parts };
}

async function uploadScript(ctx: RequestContext): Promise<HandlerResponse> {
  const name = pathParam(ctx, "script_name");
  domain.checkScriptName(name);
  const upload = await parseUpload(ctx);
  const worker = domain.uploadWorker(ctx.state, name, workerUpload(upload), sourceOf(ctx), { permission: ctx.permission });
  return ok({ ...scriptJson(worker), deployment_id: worker.version_id, startup_time_ms: 0 });
}

function deleteScript(ctx: RequestContext): HandlerResponse {
  domain.deleteWorker(ctx.state, pathParam(ctx, "script_name"));
  return ok(null);
}

function getSettings(ctx: RequestContext): HandlerResponse {
  return ok(settingsJson(domain.requireVersionedWorker(ctx.state, pathParam(ctx, "script_name"))));
}

async function patchSettings(ctx: RequestContext): Promise<HandlerResponse> {
  domain.requireVersionedWorker(ctx.state, pathParam(ctx, "script_name"));
  const { json: settings } = await multipartJson(ctx, "settings", {
    code: MISSING_SETTINGS,
    message: "Missing settings part in multipart upload. Ensure you include a settings part in the upload.",
  });
  const body = parseWith(SettingsBody, settings, WORKERS_INVALID, "settings {bindings?, compatibility_date?, ...}");
  // The body is parsed: from here on nothing awaits, so no other request interleaves.
  return ok(settingsJson(domain.editSettings(ctx.state, pathParam(ctx, "script_name"), body, sourceOf(ctx), { permission: ctx.permission })));
}

function getScriptSettings(ctx: RequestContext): HandlerResponse {
  return ok(scriptSettingsJson(domain.requireVersionedWorker(ctx.state, pathParam(ctx, "script_name"))));
}

/** JSON; script-level settings only. A `bindings` key is ignored here, as the schema has none. */
function patchScriptSettings(ctx: RequestContext): HandlerResponse {
  domain.requireVersionedWorker(ctx.state, pathParam(ctx, "script_name"));
  const body = parseJsonBody(ctx, ScriptSettingsBody, WORKERS_INVALID, "script settings {logpush?, observability?, tags?, tail_consumers?}");
  return ok(scriptSettingsJson(domain.editScriptSettings(ctx.state, pathParam(ctx, "script_name"), body)));
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
