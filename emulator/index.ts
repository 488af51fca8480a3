/**
 * A local emulator of the Cloudflare v4 API for Secrets Store and Worker bindings.
 *
 *   const emu = await startEmulator();            // random port, in memory
 *   new Cloudflare({ apiToken: emu.token, baseURL: emu.url });
 *   await fetch(`${emu.origin}/__emulator/requests`, { headers: { authorization: `Bearer ${emu.hookToken}` } });
 *   await emu.close();
 *
 * See emulator/README.md for routes, hooks, and where the emulator had to choose behaviour the
 * sources leave open.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Permission } from "./context";
import { applySeed, readSeed, type EmulatorSeed } from "./seed";
import { API_PREFIX, ApiServer, type TokenGrant } from "./server";
import { EmulatorState, HEX32, Persistence } from "./state";

export type { EmulatorSeed, SeedBinding } from "./seed";
export type { Permission, RequestLogEntry } from "./context";
export { MAX_BODY_BYTES, MAX_SECRETS_BODY_BYTES, MAX_UPLOAD_BODY_BYTES, MAX_JSON_DEPTH } from "./body";
export { HOOK_TOKEN_HEADER } from "./routes/hooks";

/** The account id used when none is given (the same one wrangler's and the SDK's docs use in examples). */
export const DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef";
export const DEFAULT_QUOTA = 100;
export const DEFAULT_MAX_STORES = 1;
export const DEFAULT_RATE_LIMIT = 1200;
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 300_000;

export interface EmulatorOptions {
  /** Default 0 (a random free port). The CLI defaults to 8787. */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Persist here (atomic writes, values encrypted with a key in `<dataDir>/key`, mode 0600). Absent: memory only. */
  dataDir?: string;
  /** Default DEFAULT_ACCOUNT_ID, or the account stored in `dataDir`. */
  accountId?: string;
  /** Default: one random edit token. */
  tokens?: Array<{ token: string; permission: Permission }>;
  /** Secrets per account, default 100. */
  quota?: number;
  /** Stores per account, default 1. */
  maxStores?: number;
  /** Added to every API response (not to hooks). */
  latencyMs?: number;
  /** Requests per window per token, default 1200. */
  rateLimit?: number;
  /** Default 300000 (five minutes). */
  rateLimitWindowMs?: number;
  /** A JSON file path or an object: stores, secrets and Workers to start with (ignored when `dataDir` already holds state). */
  seed?: string | EmulatorSeed;
  /**
   * Also accept bracket-notation multipart fields (`settings[bindings][][type]`, as the cloudflare
   * SDK 7.x sends for `scriptAndVersionSettings.edit`) where Cloudflare wants one JSON part.
   * Default false, because Cloudflare answers them with 400 "Missing settings part" (10201).
   */
  acceptBracketMultipart?: boolean;
  /**
   * Serve the test hooks under `/__emulator/` (default true). false: every hook path answers 404
   * and `RunningEmulator.hookToken` is undefined.
   */
  hooks?: boolean;
  /**
   * The secret the hooks require (`Authorization: Bearer <hookToken>` or
   * `X-Emulator-Hook-Token: <hookToken>`). Default: a random 40-character token, different from
   * every API token.
   */
  hookToken?: string;
  /**
   * Let clients that are not on a loopback address (127.0.0.0/8, ::1) use the hooks, e.g. when
   * the emulator listens on 0.0.0.0 in a CI service container. Default false: such clients get 403.
   */
  hooksAllowRemote?: boolean;
}

export interface RunningEmulator {
  /** `http://127.0.0.1:PORT/client/v4`: the base URL for wrangler (CLOUDFLARE_API_BASE_URL) and the SDK (baseURL). */
  url: string;
  /** `http://127.0.0.1:PORT`: the hooks live under `${origin}/__emulator/`. */
  origin: string;
  accountId: string;
  /** The first edit token (the first token when there is no edit token). */
  token: string;
  tokens: Array<{ token: string; permission: Permission }>;
  /**
   * The token the test hooks (`${origin}/__emulator/…`) require, as `Authorization: Bearer
   * <hookToken>` or `X-Emulator-Hook-Token: <hookToken>`; API tokens are not accepted there.
   * Undefined when the emulator was started with `hooks: false`.
   */
  hookToken: string | undefined;
  close(): Promise<void>;
}

/** A token like Cloudflare's: 40 characters of [A-Za-z0-9_-]. */
export function randomToken(): string {
  return randomBytes(30).toString("base64url");
}

function checkInt(name: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max} (got ${value})`);
  }
}

function checkTokens(tokens: TokenGrant[]): void {
  if (tokens.length === 0) throw new Error("tokens must hold at least one token");
  const seen = new Set<string>();
  for (const t of tokens) {
    if (typeof t.token !== "string" || !/^\S+$/.test(t.token)) throw new Error("each token must be a non-empty string without whitespace");
    if (t.permission !== "read" && t.permission !== "edit") throw new Error(`token permission must be "read" or "edit" (got ${String(t.permission)})`);
    if (seen.has(t.token)) throw new Error("the same token is listed twice");
    seen.add(t.token);
  }
}

function checkHookOptions(options: EmulatorOptions): void {
  if (options.hookToken === undefined) return;
  if (options.hooks === false) throw new Error("hookToken is given but hooks are off (hooks: false)");
  if (typeof options.hookToken !== "string" || !/^\S+$/.test(options.hookToken)) throw new Error("hookToken must be a non-empty string without whitespace");
}

/**
 * Start an emulator and resolve once it listens. Options are checked first (a clear error for a
 * bad one, a data directory others can write, a corrupt state file, or a port in use).
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  checkInt("port", options.port, 0, 65_535);
  checkInt("quota", options.quota, 0);
  checkInt("maxStores", options.maxStores, 0);
  checkInt("latencyMs", options.latencyMs, 0);
  checkInt("rateLimit", options.rateLimit, 1);
  checkInt("rateLimitWindowMs", options.rateLimitWindowMs, 1);
  if (options.accountId !== undefined && !HEX32.test(options.accountId)) {
    throw new Error(`accountId must be 32 lowercase hex characters like Cloudflare's (got "${options.accountId}")`);
  }
  const tokens: TokenGrant[] = options.tokens?.map((t) => ({ ...t })) ?? [{ token: randomToken(), permission: "edit" }];
  checkTokens(tokens);
  checkHookOptions(options);
  const hooksOn = options.hooks ?? true;
  const hookToken = options.hookToken ?? randomToken();
  const seed = options.seed !== undefined ? readSeed(options.seed) : undefined;

  const persistence = options.dataDir !== undefined ? new Persistence(options.dataDir) : undefined;
  const stored = persistence?.load();
  if (stored && options.accountId !== undefined && stored.accountId !== options.accountId) {
    throw new Error(`${options.dataDir} holds the state of account ${stored.accountId}, not ${options.accountId}`);
  }
  const stateOptions = {
    accountId: stored?.accountId ?? options.accountId ?? DEFAULT_ACCOUNT_ID,
    quota: options.quota ?? DEFAULT_QUOTA,
    maxStores: options.maxStores ?? DEFAULT_MAX_STORES,
  };
  const state = new EmulatorState(stateOptions, persistence);
  if (stored) {
    state.restore(stored);
  } else {
    if (seed) {
      // Seed in memory first: a seed that fails half-way must not leave half a state on disk.
      const seeded = new EmulatorState(stateOptions);
      applySeed(seeded, seed);
      state.restore(seeded.snapshot());
    }
    state.commit();
  }

  const api = new ApiServer({
    state,
    startup: state.snapshot(),
    tokens,
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    rateLimitWindowMs: options.rateLimitWindowMs ?? DEFAULT_RATE_LIMIT_WINDOW_MS,
    latencyMs: options.latencyMs ?? 0,
    acceptBracketMultipart: options.acceptBracketMultipart ?? false,
    hooks: { enabled: hooksOn, token: hookToken, allowRemote: options.hooksAllowRemote ?? false },
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === "EADDRINUSE" ? new Error(`Port ${options.port} on ${host} is already in use`) : err);
    };
    api.http.once("error", onError);
    api.http.listen(options.port ?? 0, host, () => {
      api.http.off("error", onError);
      resolve();
    });
  });
  const { port } = api.http.address() as AddressInfo;
  const urlHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  const origin = `http://${urlHost}:${port}`;
  let closed: Promise<void> | undefined;
  return {
    url: `${origin}${API_PREFIX}`,
    origin,
    accountId: state.accountId,
    token: (tokens.find((t) => t.permission === "edit") ?? tokens[0]!).token,
    tokens: tokens.map((t) => ({ ...t })),
    hookToken: hooksOn ? hookToken : undefined,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        api.http.close((err) => (err ? reject(err) : resolve()));
        api.http.closeAllConnections();
      })),
  };
}
