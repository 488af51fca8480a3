/**
 * A local emulator of the Cloudflare v4 API for Secrets Store and Worker bindings.
 *
 *   const emu = await startEmulator();            // random port, in memory
 *   new Cloudflare({ apiToken: emu.token, baseURL: emu.url });
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
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        api.http.close((err) => (err ? reject(err) : resolve()));
        api.http.closeAllConnections();
      })),
  };
}
