/**
 * Workers' rules and operations: names, bindings (and what a binding reads at run time),
 * versions and deployments, settings. Every operation runs all its checks before it changes
 * anything; each one that changes the state commits it. The routes (routes/workers.ts,
 * worker-deploy.ts, worker-secrets.ts), the hooks and the seed loader call these. Problems are
 * thrown as `ApiError`s carrying Cloudflare's status and error codes.
 *
 * Every change to code, bindings or version-level settings makes a new version and deploys it
 * (a new `version_id` and deployment); script-level settings changes do not.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { z } from "zod";
import type { Permission } from "../context";
import { ApiError, apiError, type ApiMessage } from "../envelope";
import { type BindingRecord, type EmulatorState, type UsageModel, type VersionFields, type WorkerRecord, newId, secretStatus, timestamp } from "../state";
import { propagatedValue } from "./secrets-store";

export const WORKERS_INVALID = 10021; // Cloudflare's Workers validation error code
export const SCRIPT_NOT_FOUND = 10007; // workers.api.error.script_not_found
const STORE_SECRET_NOT_FOUND = 10182; // "Secrets Store binding '…' references store '…' and secret '…' which were not found."
export const BINDING_NAME_IN_USE = 10053; // "Binding name 'X' already in use. Please use a different name and try again."
export const NO_VERSIONS = 10222; // "This Worker has no versions, which means this Worker has no content or versioned settings."

/** Cloudflare's answer to a store binding whose secret lacks the `workers` scope, or a caller that may not bind store secrets. */
export const STORE_BINDING_UNAUTHORIZED = "failed to fetch secrets store binding due to authorization error - check deploy permissions and secret scopes";

/** Cloudflare's 10053 message. */
export const nameInUseMessage = (name: string) => `Binding name '${name}' already in use. Please use a different name and try again.`;

/** Who writes the bindings: a `workers` token may edit Workers but only read Secrets Store, so it cannot bind a store secret. */
export interface BindingWriter {
  permission: Permission;
}
const EDITOR: BindingWriter = { permission: "edit" };

/** Worker names: lowercase letters, digits, dashes and underscores, up to 63 characters. */
export const SCRIPT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A binding as a client sends it (upload metadata, settings, seed): `{name, type, ...fields}`. */
export const BindingInput = z.looseObject({ name: z.string().min(1), type: z.string().min(1) });
export type BindingInput = z.infer<typeof BindingInput>;

/** A compatibility date as uploads, settings and seeds give it. */
export const CompatibilityDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD");

/** Script-level settings: changing them makes no new version. */
export interface ScriptSettings {
  logpush?: boolean;
  observability?: Record<string, unknown> | null;
  /** null clears the tags. */
  tags?: string[] | null;
  tail_consumers?: Array<Record<string, unknown>> | null;
}

/** Version-level settings (besides bindings): changing them makes a new version. */
export interface VersionSettings {
  compatibility_date?: string;
  compatibility_flags?: string[];
  placement?: Record<string, unknown> | null;
  usage_model?: UsageModel;
  limits?: Record<string, unknown> | null;
}

/** A Worker upload: its module part names, main module, bindings and settings. */
export interface WorkerUpload extends ScriptSettings, VersionSettings {
  /** Names of the uploaded module parts (their contents are not kept). */
  parts: string[];
  main_module?: string;
  bindings?: BindingInput[];
  /** Keep earlier bindings of these types that the upload does not list. */
  keep_bindings?: string[];
}

/** YYYY-MM-DD of a timestamp (the upload day stands in for a missing compatibility date). */
export const day = (at: string) => at.slice(0, 10);

/** A 400 (10021) unless `name` is a valid Worker name (SCRIPT_NAME). */
export function checkScriptName(name: string): void {
  if (!SCRIPT_NAME.test(name)) {
    throw apiError(
      400,
      WORKERS_INVALID,
      `Invalid Worker name "${name}": use lowercase letters, digits, "-" and "_" (at most 63 characters, starting with a letter or digit)`,
    );
  }
}

/** The Worker called `name`, or Cloudflare's 404 (10007). */
export function requireWorker(state: EmulatorState, name: string): WorkerRecord {
  const worker = state.workers.get(name);
  if (!worker) throw apiError(404, SCRIPT_NOT_FOUND, "This Worker does not exist on your account.");
  return worker;
}

/**
 * The Worker called `name` (404 10007 if missing), or Cloudflare's 404 (10222) when it has no
 * version yet (a deploy interrupted before any content upload).
 */
export function requireVersionedWorker(state: EmulatorState, name: string): WorkerRecord {
  const worker = requireWorker(state, name);
  if (worker.no_versions) throw apiError(404, NO_VERSIONS, "This Worker has no versions, which means this Worker has no content or versioned settings.");
  return worker;
}

// ---------------------------------------------------------------------------------------------
// Bindings

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/**
 * The binding list that replaces `previous`, or a 400 listing every problem. `secret_text` /
 * `secret_key` sent without their value keep the stored one, as does `inherit` (optionally
 * renaming from `old_name`). A name used twice is 10053. A `secrets_store_secret` must name a
 * store of this account and a secret in it that is not pending (else 10182) and whose scopes
 * include `workers`, written by a caller that may edit Secrets Store (else 10021).
 */
export function resolveBindings(state: EmulatorState, inputs: BindingInput[], previous: BindingRecord[], writer: BindingWriter = EDITOR): BindingRecord[] {
  const problems: ApiMessage[] = [];
  const invalid = (i: number, message: string, code = WORKERS_INVALID) => problems.push({ code, message, source: { pointer: `/bindings/${i}` } });
  const before = new Map(previous.map((b) => [b.name, b]));
  const seen = new Set<string>();
  const out: BindingRecord[] = [];

  inputs.forEach((input, i) => {
    const { name, type } = input;
    if (seen.has(name)) invalid(i, nameInUseMessage(name), BINDING_NAME_IN_USE);
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
        // A secret still in its pending window has not reached the edge: Cloudflare reports it
        // as not found (alchemy-run/distilled PR #363).
        if (!secret || secretStatus(secret) === "pending") {
          invalid(
            i,
            `Secrets Store binding '${name}' references store '${store_id}' and secret '${secret_name}' which were not found.`,
            STORE_SECRET_NOT_FOUND,
          );
        } else if (!secret.scopes.includes("workers") || writer.permission !== "edit") {
          invalid(i, STORE_BINDING_UNAUTHORIZED);
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
  if (!binding) throw apiError(404, WORKERS_INVALID, `Worker "${worker.name}" has no binding named "${bindingName}"`);
  switch (binding.type) {
    case "secret_text":
    case "plain_text":
      return String(binding.text);
    case "secrets_store_secret": {
      const storeId = String(binding.store_id);
      const secretName = String(binding.secret_name);
      if (!state.stores.has(storeId)) throw apiError(404, STORE_SECRET_NOT_FOUND, `Binding "${bindingName}": store ${storeId} does not exist (any more)`);
      const secret = state.findSecretByName(storeId, secretName);
      if (!secret)
        throw apiError(404, STORE_SECRET_NOT_FOUND, `Binding "${bindingName}": secret "${secretName}" does not exist in store ${storeId} (any more)`);
      if (!secret.scopes.includes("workers")) {
        throw apiError(
          404,
          WORKERS_INVALID,
          `Binding "${bindingName}": secret "${secretName}" in store ${storeId} no longer has the "workers" scope, so the Worker cannot read it`,
        );
      }
      // While a value change is pending the Worker still reads the previous value.
      const value = propagatedValue(secret);
      if (value === undefined) {
        throw apiError(404, STORE_SECRET_NOT_FOUND, `Binding "${bindingName}": secret "${secretName}" in store ${storeId} is pending (not at the edge yet)`);
      }
      return value;
    }
    default:
      throw apiError(400, WORKERS_INVALID, `Binding "${bindingName}" is of type ${binding.type}, which has no string value`);
  }
}

// ---------------------------------------------------------------------------------------------
// Versions and deployments

export function applyScriptLevel(w: WorkerRecord, settings: ScriptSettings): void {
  if (settings.logpush !== undefined) w.logpush = settings.logpush;
  if (settings.observability !== undefined) w.observability = settings.observability;
  if (settings.tags !== undefined) w.tags = settings.tags ?? [];
  if (settings.tail_consumers !== undefined) w.tail_consumers = settings.tail_consumers;
}

export function applyVersionLevel(w: VersionFields, settings: VersionSettings): void {
  if (settings.compatibility_date !== undefined) w.compatibility_date = settings.compatibility_date;
  if (settings.compatibility_flags !== undefined) w.compatibility_flags = settings.compatibility_flags;
  if (settings.placement !== undefined) w.placement = settings.placement;
  if (settings.usage_model !== undefined) w.usage_model = settings.usage_model;
  if (settings.limits !== undefined) w.limits = settings.limits;
}

/** Mark `w` changed: a new `modified_on` and `etag` (no new version). */
export function touch(w: WorkerRecord): void {
  w.modified_on = timestamp();
  w.etag = randomBytes(32).toString("hex");
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

/**
 * The version an upload describes, on top of `previous` bindings: a new version replaces every
 * version-level setting (those not given go back to their defaults); `keep_bindings` keeps
 * earlier bindings of the listed types.
 */
export function uploadedVersion(state: EmulatorState, upload: WorkerUpload, previous: BindingRecord[], writer: BindingWriter = EDITOR): VersionFields {
  const bindings = resolveBindings(state, upload.bindings ?? [], previous, writer);
  const clashes: ApiMessage[] = [];
  for (const kept of previous) {
    if (!upload.keep_bindings?.includes(kept.type)) continue;
    const holder = bindings.find((b) => b.name === kept.name);
    if (!holder) bindings.push(structuredClone(kept));
    // A kept binding (a wrangler secret) whose name the upload gives a binding of another type
    // (a var of the same name): Cloudflare refuses the upload.
    else if (holder.type !== kept.type) clashes.push({ code: BINDING_NAME_IN_USE, message: nameInUseMessage(kept.name) });
  }
  if (clashes.length) throw new ApiError(400, clashes);
  const version: VersionFields = {
    main_module: upload.main_module ?? null,
    modules: upload.parts,
    bindings,
    compatibility_date: day(new Date().toISOString()),
    compatibility_flags: [],
    placement: null,
    usage_model: "standard",
    limits: null,
  };
  applyVersionLevel(version, upload);
  return version;
}

// ---------------------------------------------------------------------------------------------
// Operations

/** Create the Worker `name` from an upload, or replace its code, bindings and settings (a new version, deployed). */
export function uploadWorker(state: EmulatorState, name: string, upload: WorkerUpload, source: string, writer: BindingWriter = EDITOR): WorkerRecord {
  checkScriptName(name);
  const existing = state.workers.get(name);
  const worker = existing ?? newWorker(name, source);
  Object.assign(worker, uploadedVersion(state, upload, existing?.bindings ?? [], writer));
  delete worker.no_versions;
  applyScriptLevel(worker, upload);
  if (existing) deployNewVersion(worker, source);
  state.workers.set(name, worker);
  state.commit();
  return worker;
}

export function deleteWorker(state: EmulatorState, name: string): void {
  requireWorker(state, name);
  state.workers.delete(name);
  state.commit();
}

/** Change bindings (the whole list, when given) and settings of both levels: a new version, deployed. */
export function editSettings(
  state: EmulatorState,
  name: string,
  settings: ScriptSettings & VersionSettings & { bindings?: BindingInput[] },
  source: string,
  writer: BindingWriter = EDITOR,
): WorkerRecord {
  const worker = requireVersionedWorker(state, name);
  const bindings = settings.bindings !== undefined ? resolveBindings(state, settings.bindings, worker.bindings, writer) : undefined;
  if (bindings) worker.bindings = bindings;
  applyVersionLevel(worker, settings);
  applyScriptLevel(worker, settings);
  deployNewVersion(worker, source);
  state.commit();
  return worker;
}

/** Change script-level settings only (no new version). */
export function editScriptSettings(state: EmulatorState, name: string, settings: ScriptSettings): WorkerRecord {
  const worker = requireVersionedWorker(state, name);
  applyScriptLevel(worker, settings);
  touch(worker);
  state.commit();
  return worker;
}
