/**
 * The HTTP server: routing under `/client/v4`, auth, per-token rate limit, account check,
 * write permission, injected faults, added latency, and the request log. Hooks under
 * `/__emulator/` bypass all of that but pass their own gate (on/off, loopback only, hook token).
 *
 * Order for an API request: from the headers alone, before any body byte is read: route (404
 * 7003, 405 7001) → auth (401) → account (403 10000) → write permission (403 10000); a refusal
 * there is answered at once (see `refuse`), so an unauthenticated client can never make the
 * server buffer a body. Then: body (413 over the route's limit) → faults (reset / error-before /
 * 429 / echo / delay) → rate limit (429 971) → handler → error-after → latency → response and log
 * line. Every 429 carries `Retry-After`.
 *
 * Handlers parse their whole body before they read or change the state, and change it without
 * awaiting anything, so concurrent requests never interleave inside one read-modify-write.
 */
import { createHash } from "node:crypto";
import * as http from "node:http";
import { MAX_BODY_BYTES } from "./body";
import type { BodyLimit, Permission, RequestContext, RequestLogEntry, Route } from "./context";
import { ApiError, apiError, failure, routeNotFound, type HandlerResponse } from "./envelope";
import { echoError, FaultRules } from "./faults";
import { accountRoutes } from "./routes/account";
import { handleHook, hookGate, type HookAccess } from "./routes/hooks";
import { secretsStoreRoutes } from "./routes/secrets-store";
import { workerDeployRoutes } from "./routes/worker-deploy";
import { workerSecretRoutes } from "./routes/worker-secrets";
import { workersRoutes } from "./routes/workers";
import { type EmulatorAccounts, type EmulatorState, type Snapshot, HEX32 } from "./state";

/** Where the API lives on the emulator's origin. */
export const API_PREFIX = "/client/v4";
/** Where the test hooks live (outside the API, so no client mistakes them for it). */
export const HOOK_PREFIX = "/__emulator";
/** The request log keeps at most this many entries; beyond it the oldest tenth is dropped. */
export const MAX_LOG_ENTRIES = 50_000;
const DEFAULT_BODY_LIMIT: BodyLimit = { bytes: MAX_BODY_BYTES, code: 1000 };

export interface TokenGrant {
  token: string;
  permission: Permission;
}

export interface ServerOptions {
  /** Every account served, the first one first. */
  accounts: EmulatorAccounts;
  /** What `POST /__emulator/reset` goes back to: one snapshot per account. */
  startup: Snapshot[];
  tokens: TokenGrant[];
  rateLimit: number;
  rateLimitWindowMs: number;
  latencyMs: number;
  acceptBracketMultipart: boolean;
  hooks: HookAccess;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

/** A request its headers admit: its route, path parameters and token. */
interface Admitted {
  route: CompiledRoute;
  params: Record<string, string>;
  grant: TokenGrant;
  apiPath: string;
  /** The account the path names, or the first account for paths without one (`/accounts`, `/user/tokens/verify`). */
  state: EmulatorState;
}

/** Where a write lands: Secrets Store (below `/accounts/:a/secrets_store/`) or anything else (Workers, account). */
const SECRETS_STORE_PATH = /^\/accounts\/[^/]+\/secrets_store(\/|$)/;

/** Whether a token with `permission` may make a non-GET request to `apiPath`. */
function mayWrite(permission: Permission, apiPath: string): boolean {
  if (permission === "edit") return true;
  if (permission === "workers") return !SECRETS_STORE_PATH.test(apiPath);
  return false;
}

/** The most body bytes a request refused on its headers may declare and still be read (and dropped) after the answer. */
const LINGER_BYTES = MAX_BODY_BYTES;
/** How long such a body may take to arrive before the connection is closed anyway. */
const LINGER_MS = 2_000;

/**
 * Answer a request refused on its headers, before any of its body is read. A body it declares of
 * at most {@link LINGER_BYTES} is then read and dropped (never kept), and the connection stays
 * open: closing with unread bytes makes the kernel reset the connection, and a client still
 * sending its body would get EPIPE or ECONNRESET instead of the answer (a proxy's lingering close
 * avoids the same). A larger body, or one of unknown length (chunked), is not read: the answer
 * carries `Connection: close` and the connection is closed.
 */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, response: HandlerResponse): void {
  const declared = Number(req.headers["content-length"] ?? 0);
  const drop = req.headers["transfer-encoding"] === undefined && Number.isFinite(declared) && declared <= LINGER_BYTES;
  if (drop) {
    req.resume();
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
    req.once("end", () => clearTimeout(timer));
    req.once("close", () => clearTimeout(timer));
  }
  send(req, res, response, !drop);
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split("/")
    .map((segment) => {
      if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
      names.push(segment.slice(1));
      return "([^/]+)";
    })
    .join("/");
  return { ...route, regex: new RegExp(`^${source}$`), names };
}

/** Every API route the emulator serves (below `/client/v4`). */
export const API_ROUTES: readonly Route[] = [...secretsStoreRoutes, ...workersRoutes, ...workerSecretRoutes, ...workerDeployRoutes, ...accountRoutes];
const ROUTES = API_ROUTES.map(compile);

/** Fixed windows per token: after `limit` requests, 429 until the window ends. */
class RateLimiter {
  private windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  hit(token: string): void {
    const now = Date.now();
    let w = this.windows.get(token);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(token, w);
    }
    w.count += 1;
    if (w.count > this.limit) {
      const retryAfter = Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
      throw apiError(
        429,
        971,
        `More than ${this.limit} requests per ${Math.round(this.windowMs / 1000)} seconds reached. Please wait and consider throttling your request speed`,
        { "Retry-After": String(retryAfter) },
      );
    }
  }

  clear(): void {
    this.windows.clear();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function tokenId(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 32);
}

export class ApiServer {
  readonly http: http.Server;
  readonly requests: RequestLogEntry[] = [];
  readonly faults = new FaultRules();
  private readonly limiter: RateLimiter;
  private readonly grants: Map<string, Permission>;

  constructor(private readonly options: ServerOptions) {
    this.limiter = new RateLimiter(options.rateLimit, options.rateLimitWindowMs);
    this.grants = new Map(options.tokens.map((t) => [t.token, t.permission]));
    this.http = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // Last resort: never leave a request hanging.
        console.error(`cloudflare-api-emulator: internal error: ${(err as Error)?.stack ?? String(err)}`);
        if (!res.headersSent) send(req, res, failure(apiError(500, 1000, "Internal error in the emulator")));
        else res.destroy();
      });
    });
  }

  /** Back to the startup state; clears the request log, faults and rate-limit windows. */
  reset(): void {
    this.options.accounts.restore(this.options.startup);
    this.requests.length = 0;
    this.faults.clear();
    this.limiter.clear();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = req.url ?? "/";
    const path = url.split("?")[0] ?? "/";
    if (path === HOOK_PREFIX || path.startsWith(`${HOOK_PREFIX}/`)) {
      await this.hook(req, res, method, path);
      return;
    }
    let admitted: Admitted;
    try {
      admitted = this.admit(req, method, path);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
      this.log(method, path, err.status);
      refuse(req, res, failure(err));
      return;
    }
    const received = await readBody(req, admitted.route.bodyLimit ?? DEFAULT_BODY_LIMIT);
    if ("gone" in received) {
      this.log(method, path, 0);
      return;
    }
    if ("error" in received) {
      this.log(method, path, received.error.status);
      send(req, res, failure(received.error));
      return;
    }
    await this.serveApi(req, res, method, url, path, received.body, admitted);
  }

  /** Hooks: the gate first (before any body is read), then the hook itself. Never logged. */
  private async hook(req: http.IncomingMessage, res: http.ServerResponse, method: string, path: string): Promise<void> {
    const denied = hookGate(this.options.hooks, req, path);
    if (denied) {
      refuse(req, res, failure(denied));
      return;
    }
    const received = await readBody(req, DEFAULT_BODY_LIMIT);
    if ("gone" in received) return;
    if ("error" in received) {
      send(req, res, failure(received.error));
      return;
    }
    const accounts = this.options.accounts;
    send(req, res, handleHook({ accounts, faults: this.faults, requests: this.requests, reset: () => this.reset() }, method, path, received.body));
  }

  private async serveApi(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    url: string,
    path: string,
    body: Buffer,
    admitted: Admitted,
  ): Promise<void> {
    const fault = this.faults.take(method, url);
    if (fault?.kind === "reset") {
      this.log(method, path, 0);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await sleep(fault.delayMs);

    let response: HandlerResponse;
    if (fault?.kind === "error-before") {
      response = injectedError(fault.status, "before");
    } else if (fault?.kind === "echo") {
      response = failure(echoError(fault.status, body));
    } else if (fault?.kind === "429") {
      response = failure(apiError(429, 971, "Please wait and consider throttling your request speed", { "Retry-After": "1" }));
    } else {
      response = await this.api(req, method, url, path, body, admitted);
      if (fault?.kind === "error-after") response = injectedError(fault.status, "after");
    }
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
    this.log(method, path, response.status);
    send(req, res, response);
  }

  /**
   * What the headers decide, before the body is read: the route (404 / 405), the credentials
   * (400 / 401), the account in the path and the token's permission (403). Throws the refusal.
   */
  private admit(req: http.IncomingMessage, method: string, path: string): Admitted {
    if (!path.startsWith(`${API_PREFIX}/`)) throw routeNotFound(path);
    const apiPath = path.slice(API_PREFIX.length);
    const { route, params } = this.match(method, apiPath);
    const grant = this.authenticate(req.headers);
    const { accounts } = this.options;
    const state = params.account_id !== undefined ? accounts.get(params.account_id) : accounts.first;
    // An account this emulator does not serve: as Cloudflare answers an account the token cannot reach.
    if (!state) throw apiError(403, 10000, "Authentication error");
    if (method !== "GET" && !mayWrite(grant.permission, apiPath)) throw apiError(403, 10000, "Authentication error");
    return { route, params, grant, apiPath, state };
  }

  private async api(req: http.IncomingMessage, method: string, url: string, path: string, body: Buffer, admitted: Admitted): Promise<HandlerResponse> {
    const { route, params, grant, apiPath, state } = admitted;
    try {
      this.limiter.hit(grant.token);
      const ctx: RequestContext = {
        method,
        url,
        apiPath,
        query: new URLSearchParams(url.includes("?") ? url.slice(url.indexOf("?") + 1) : ""),
        params,
        contentType: req.headers["content-type"] ?? "",
        body,
        permission: grant.permission,
        tokenId: tokenId(grant.token),
        state,
        accountIds: this.options.accounts.ids(),
        acceptBracketMultipart: this.options.acceptBracketMultipart,
        userAgent: req.headers["user-agent"] ?? "",
      };
      return await route.handler(ctx);
    } catch (err) {
      if (err instanceof ApiError) return failure(err);
      console.error(`cloudflare-api-emulator: internal error on ${method} ${path}: ${(err as Error)?.stack ?? String(err)}`);
      return failure(apiError(500, 1000, "Internal error in the emulator"));
    }
  }

  private match(method: string, apiPath: string): { route: CompiledRoute; params: Record<string, string> } {
    let pathMatched = false;
    for (const route of ROUTES) {
      const m = route.regex.exec(apiPath);
      if (!m) continue;
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1] ?? "")));
      } catch {
        throw routeNotFound(apiPath);
      }
      if (params.account_id !== undefined && !HEX32.test(params.account_id)) throw routeNotFound(apiPath);
      pathMatched = true;
      if (route.method === method) return { route, params };
    }
    if (pathMatched) throw apiError(405, 7001, `Method ${method} not available for that URI.`);
    throw routeNotFound(apiPath);
  }

  private authenticate(headers: http.IncomingHttpHeaders): TokenGrant {
    const authorization = headers.authorization;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m?.[1]) {
        throw new ApiError(400, [
          { code: 6003, message: "Invalid request headers", error_chain: [{ code: 6111, message: "Invalid format for Authorization header" }] },
        ]);
      }
      return this.grant(m[1]);
    }
    const key = headers["x-auth-key"];
    const email = headers["x-auth-email"];
    if (typeof key === "string" && key !== "") {
      if (typeof email !== "string" || !/^[^@\s]+@[^@\s]+$/.test(email)) {
        throw new ApiError(400, [
          { code: 6003, message: "Invalid request headers", error_chain: [{ code: 6102, message: "Invalid format for X-Auth-Email header" }] },
        ]);
      }
      return this.grant(key);
    }
    throw apiError(401, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers");
  }

  private grant(token: string): TokenGrant {
    const permission = this.grants.get(token);
    if (!permission) throw apiError(401, 1000, "Invalid API Token");
    return { token, permission };
  }

  /** One log line; `path` never carries the query string. */
  private log(method: string, path: string, status: number): void {
    if (this.requests.length >= MAX_LOG_ENTRIES) this.requests.splice(0, Math.ceil(MAX_LOG_ENTRIES / 10));
    this.requests.push({ method, path, status });
  }
}

function injectedError(status: number, when: "before" | "after"): HandlerResponse {
  return failure(
    apiError(
      status,
      1000,
      when === "before" ? "Internal server error (injected fault: nothing was applied)" : "Internal server error (injected fault: the request was applied)",
    ),
  );
}

type Received = { body: Buffer } | { error: ApiError } | { gone: true };

function tooLarge(limit: BodyLimit): ApiError {
  const size = `${limit.bytes / (1024 * 1024)} MiB`;
  return limit.code === 10027
    ? apiError(413, 10027, `Your Worker exceeded the size limit of ${size} (the emulator's limit on an upload body)`)
    : apiError(413, limit.code, `Request body too large: this route takes at most ${size} (${limit.bytes} bytes)`);
}

/**
 * The whole body, or a 413 as soon as it is known to exceed `limit` (from Content-Length, or
 * while it streams in: reading stops there), or `gone` when the client aborts.
 */
function readBody(req: http.IncomingMessage, limit: BodyLimit): Promise<Received> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit.bytes) return Promise.resolve({ error: tooLarge(limit) });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: Received) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit.bytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      req.pause();
      settle({ error: tooLarge(limit) });
    };
    req.on("data", onData);
    req.once("end", () => settle({ body: Buffer.concat(chunks) }));
    req.once("aborted", () => settle({ gone: true }));
    req.once("error", () => settle({ gone: true }));
    req.once("close", () => settle({ gone: true }));
  });
}

/**
 * Send the envelope. When the request body was not read to its end (a 413), the connection is
 * closed after the answer instead of reading what the client is still sending; `closeConnection`
 * decides it when given (see `refuse`). A 429 always carries `Retry-After` (1 second unless the
 * response names another).
 */
function send(req: http.IncomingMessage, res: http.ServerResponse, response: HandlerResponse, closeConnection?: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(response.body);
  const close = (closeConnection ?? (!req.complete || !req.readableEnded)) ? { connection: "close" } : {};
  const retryAfter =
    response.status === 429 && !Object.keys(response.headers ?? {}).some((h) => h.toLowerCase() === "retry-after") ? { "Retry-After": "1" } : {};
  res.writeHead(response.status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(payload),
    ...close,
    ...retryAfter,
    ...response.headers,
  });
  res.end(payload);
}
