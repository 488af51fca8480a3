/**
 * The rest of what `wrangler deploy` calls around a Worker upload, served minimally:
 *
 *   GET  /accounts/:a/workers/services/:name          service metadata (404 10090 for a new Worker)
 *   GET  /accounts/:a/workers/workers/:name           the Workers API view (its workers.dev state)
 *   GET  /accounts/:a/workers/subdomain               the account's workers.dev subdomain
 *   GET|POST …/scripts/:name/subdomain                the script's workers.dev route {enabled, previews_enabled}
 *   GET  …/scripts/:name/deployments                  {deployments: [the current one]}
 *   POST …/scripts/:name/deployments                  deploy one version to 100% of traffic
 *   POST …/scripts/:name/versions                     upload a version without deploying it (multipart, as an upload)
 *
 * A Worker has one deployment, serving one version to all traffic; gradual (split) deployments
 * are refused.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { RequestContext, Route } from "../context";
import { WORKERS_INVALID, deployNewVersion, requireVersionedWorker, requireWorker, touch, uploadedVersion } from "../domain/workers";
import { apiError, ok, type HandlerResponse } from "../envelope";
import { MAX_PENDING_VERSIONS, type VersionFields, type VersionRecord, type WorkerRecord, timestamp } from "../state";
import { pathParam, parseJsonBody } from "../validation";
import { UPLOAD_LIMIT, bindingJson, parseUpload, scriptJson, sourceOf, workerUpload } from "./workers";

const SERVICE_NOT_FOUND = 10090; // what wrangler reads as "no Worker of that name yet"
/** The account's workers.dev subdomain: Workers are reported at `<name>.emulator.workers.dev`. */
export const ACCOUNT_SUBDOMAIN = "emulator";

const SubdomainBody = z.looseObject({ enabled: z.boolean(), previews_enabled: z.boolean().optional() });
const DeploymentBody = z.looseObject({
  strategy: z.literal("percentage"),
  versions: z.array(z.looseObject({ version_id: z.string().min(1), percentage: z.number().min(0).max(100) })).min(1),
  annotations: z.record(z.string(), z.unknown()).optional(),
});

function serviceJson(w: WorkerRecord): Record<string, unknown> {
  return {
    id: w.name,
    created_on: w.created_on,
    modified_on: w.modified_on,
    default_environment: { environment: "production", created_on: w.created_on, modified_on: w.modified_on, script: scriptJson(w) },
  };
}

function deploymentJson(w: WorkerRecord): Record<string, unknown> {
  const d = w.deployment;
  return {
    id: d.id,
    source: d.source,
    strategy: "percentage",
    created_on: d.created_on,
    annotations: d.annotations,
    versions: [{ version_id: w.version_id, percentage: 100 }],
  };
}

function versionJson(w: WorkerRecord, v: VersionRecord): Record<string, unknown> {
  return {
    id: v.id,
    metadata: { created_on: v.created_on, modified_on: v.created_on, source: v.source },
    annotations: v.annotations,
    resources: {
      bindings: v.bindings.map(bindingJson),
      script: { etag: w.etag, handlers: ["fetch"], last_deployed_from: w.last_deployed_from },
      script_runtime: {
        compatibility_date: v.compatibility_date,
        compatibility_flags: v.compatibility_flags,
        usage_model: v.usage_model,
        limits: v.limits ?? {},
      },
    },
    startup_time_ms: 0,
  };
}

function getService(ctx: RequestContext): HandlerResponse {
  const worker = ctx.state.workers.get(pathParam(ctx, "service_name"));
  if (!worker) throw apiError(404, SERVICE_NOT_FOUND, "workers.api.error.service_not_found");
  return ok(serviceJson(worker));
}

function getWorker(ctx: RequestContext): HandlerResponse {
  const w = requireWorker(ctx.state, pathParam(ctx, "worker_name"));
  return ok({
    id: w.tag,
    name: w.name,
    created_on: w.created_on,
    updated_on: w.modified_on,
    logpush: w.logpush,
    tags: w.tags,
    subdomain: { ...w.subdomain },
  });
}

function accountSubdomain(): HandlerResponse {
  return ok({ subdomain: ACCOUNT_SUBDOMAIN });
}

function getScriptSubdomain(ctx: RequestContext): HandlerResponse {
  return ok({ ...requireWorker(ctx.state, pathParam(ctx, "script_name")).subdomain });
}

function postScriptSubdomain(ctx: RequestContext): HandlerResponse {
  const body = parseJsonBody(ctx, SubdomainBody, WORKERS_INVALID, '{"enabled": boolean, "previews_enabled"?: boolean}');
  const worker = requireWorker(ctx.state, pathParam(ctx, "script_name"));
  worker.subdomain = { enabled: body.enabled, previews_enabled: body.previews_enabled ?? body.enabled };
  touch(worker);
  ctx.state.commit();
  return ok({ ...worker.subdomain });
}

function listDeployments(ctx: RequestContext): HandlerResponse {
  return ok({ deployments: [deploymentJson(requireVersionedWorker(ctx.state, pathParam(ctx, "script_name")))] });
}

/** Upload a version (checked like an upload) without deploying it. */
async function uploadVersion(ctx: RequestContext): Promise<HandlerResponse> {
  requireWorker(ctx.state, pathParam(ctx, "script_name"));
  const upload = await parseUpload(ctx);
  const worker = requireWorker(ctx.state, pathParam(ctx, "script_name"));
  const fields = uploadedVersion(ctx.state, workerUpload(upload), worker.bindings, { permission: ctx.permission });
  const given = upload.meta.annotations;
  const annotations = typeof given === "object" && given !== null && !Array.isArray(given) ? (given as Record<string, unknown>) : {};
  const version: VersionRecord = { ...fields, id: randomUUID(), created_on: timestamp(), source: sourceOf(ctx), annotations };
  worker.pending_versions = [...worker.pending_versions, version].slice(-MAX_PENDING_VERSIONS);
  delete worker.no_versions;
  ctx.state.commit();
  return ok(versionJson(worker, version));
}

function versionFields(v: VersionRecord): VersionFields {
  const { id: _id, created_on: _c, source: _s, annotations: _a, ...fields } = v;
  return fields;
}

/** Deploy one version (the current one or an uploaded one) to 100% of traffic. */
function createDeployment(ctx: RequestContext): HandlerResponse {
  const body = parseJsonBody(ctx, DeploymentBody, WORKERS_INVALID, '{"strategy": "percentage", "versions": [{"version_id", "percentage": 100}]}');
  const worker = requireWorker(ctx.state, pathParam(ctx, "script_name"));
  const total = body.versions.reduce((sum, v) => sum + v.percentage, 0);
  if (total !== 100) throw apiError(400, WORKERS_INVALID, `Invalid deployment: version percentages add up to ${total}, not 100`);
  const [only, ...more] = body.versions;
  if (more.length > 0) throw apiError(400, WORKERS_INVALID, "The emulator deploys one version to 100% of traffic; gradual deployments are not emulated");
  // Unreachable (an empty list adds up to 0, refused above); kept so the type says one version.
  if (!only) throw apiError(400, WORKERS_INVALID, "Invalid deployment: no version to deploy");
  const versionId = only.version_id;
  const pending = worker.pending_versions.find((v) => v.id === versionId);
  if (!pending && versionId !== worker.version_id) throw apiError(404, WORKERS_INVALID, `Version ${versionId} does not exist on Worker "${worker.name}"`);
  if (pending) {
    Object.assign(worker, versionFields(pending));
    worker.pending_versions = worker.pending_versions.filter((v) => v !== pending);
  }
  deployNewVersion(worker, pending?.source ?? sourceOf(ctx), body.annotations ?? {}, versionId);
  ctx.state.commit();
  return ok(deploymentJson(worker));
}

const A = "/accounts/:account_id/workers";
const S = `${A}/scripts/:script_name`;
/** Service metadata, versions, deployments and workers.dev subdomains: what `wrangler deploy` calls besides the upload. */
export const workerDeployRoutes: Route[] = [
  { method: "GET", path: `${A}/services/:service_name`, handler: getService },
  { method: "GET", path: `${A}/workers/:worker_name`, handler: getWorker },
  { method: "GET", path: `${A}/subdomain`, handler: accountSubdomain },
  { method: "GET", path: `${S}/subdomain`, handler: getScriptSubdomain },
  { method: "POST", path: `${S}/subdomain`, handler: postScriptSubdomain },
  { method: "GET", path: `${S}/deployments`, handler: listDeployments },
  { method: "POST", path: `${S}/deployments`, handler: createDeployment },
  { method: "POST", path: `${S}/versions`, handler: uploadVersion, bodyLimit: UPLOAD_LIMIT },
];
