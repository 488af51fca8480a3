/**
 * A local emulator of the Cloudflare v4 API for Secrets Store and Worker bindings, for tests,
 * demos and CI without a Cloudflare account (the package's `./emulator` export).
 *
 * @example
 * ```ts
 * import Cloudflare from "cloudflare";
 * import { startEmulator } from "pulumi-cloudflare-secrets-store/emulator";
 *
 * const emu = await startEmulator(); // random port, in memory
 * const cf = new Cloudflare({ apiToken: emu.token, baseURL: emu.url });
 * await fetch(`${emu.origin}/__emulator/requests`, { headers: { authorization: `Bearer ${emu.hookToken}` } });
 * await emu.close();
 * ```
 *
 * See emulator/README.md for routes, hooks, and where the emulator had to choose behaviour the
 * sources leave open.
 *
 * @see https://developers.cloudflare.com/secrets-store/ (Secrets Store)
 * @see https://developers.cloudflare.com/api/ (the Cloudflare v4 API it emulates)
 *
 * @packageDocumentation
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { PERMISSIONS, type Permission } from "./context";
import { applySeed, readSeed, type EmulatorSeed } from "./seed";
import { API_PREFIX, ApiServer, type TokenGrant } from "./server";
import { Persistence } from "./persistence";
import { EmulatorAccounts, EmulatorState, HEX32, type Snapshot, type SnapshotWriter } from "./state";

export type { EmulatorSeed, SeedBinding } from "./seed";
export type { Permission, RequestLogEntry } from "./context";
export { MAX_BODY_BYTES, MAX_SECRETS_BODY_BYTES, MAX_UPLOAD_BODY_BYTES, MAX_JSON_DEPTH } from "./body";
export { HOOK_TOKEN_HEADER } from "./routes/hooks";

/**
 * The account id used when none is given (the same one wrangler's and the SDK's docs use in
 * examples): 32 lowercase hex characters, like every Cloudflare account id.
 *
 * @see https://developers.cloudflare.com/api/
 */
export const DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef";

/**
 * Secrets an account may hold across all its stores unless `EmulatorOptions.quota` says otherwise
 * (`GET …/secrets_store/quota` reports it); creating more answers 400, code 1003.
 *
 * @see https://developers.cloudflare.com/secrets-store/
 */
export const DEFAULT_QUOTA = 100;

/**
 * Stores an account may have unless `EmulatorOptions.maxStores` says otherwise; creating more
 * answers 400, code 1003.
 *
 * @see https://developers.cloudflare.com/secrets-store/
 */
export const DEFAULT_MAX_STORES = 1;

/**
 * API requests one token may make per window (`DEFAULT_RATE_LIMIT_WINDOW_MS`) before it gets
 * 429, code 971, with `Retry-After`: Cloudflare's global limit of 1,200 requests per five minutes.
 *
 * @see https://developers.cloudflare.com/fundamentals/api/reference/limits/
 */
export const DEFAULT_RATE_LIMIT = 1200;

/**
 * The rate limit's fixed window, in milliseconds: five minutes.
 *
 * @see https://developers.cloudflare.com/fundamentals/api/reference/limits/
 */
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 300_000;

/**
 * How long, in milliseconds, a secret stays `pending` after a create, a duplicate or a value
 * change before it turns `active`, unless `EmulatorOptions.pendingMs` says otherwise. Each window
 * is jittered: `pendingMs * (1 + Math.random() * 0.5)`, so 1,000 to 1,500 ms by default. During
 * it a `secrets_store_secret` binding to the secret is refused (400, code 10182) and existing
 * bindings read the previous value.
 *
 * @see https://developers.cloudflare.com/secrets-store/
 */
export const DEFAULT_PENDING_MS = 1000;

/**
 * How `startEmulator` sets up an emulator. Every field is optional; a bad value makes
 * `startEmulator` reject with a message naming the option.
 *
 * @example
 * ```ts
 * const options: EmulatorOptions = {
 *   port: 8787,
 *   dataDir: ".emulator-data",
 *   tokens: [{ token: "ci-edit-token", permission: "edit" }, { token: "ci-read-token", permission: "read" }],
 *   quota: 10,
 *   seed: { stores: [{ name: "main" }] },
 * };
 * const emu = await startEmulator(options);
 * ```
 */
export interface EmulatorOptions {
  /** Port to listen on, 0 to 65535. Default 0 (a random free port). The CLI defaults to 8787. */
  port?: number;
  /** Address to listen on. Default "127.0.0.1". */
  host?: string;
  /**
   * Keep the state in this directory: written atomically after every change, secret values and
   * secret bindings encrypted with a key in `<dataDir>/key` (mode 0600). The directory is created
   * (mode 0700) if missing; one that another user, the group or others could write is refused.
   * Absent: memory only.
   */
  dataDir?: string;
  /** The emulated account: 32 lowercase hex characters. Default DEFAULT_ACCOUNT_ID, or the account stored in `dataDir`. */
  accountId?: string;
  /**
   * More accounts served beside the first (`accountId`), each with its own stores, secrets,
   * Workers and quota, and its own `seed` (an `EmulatorSeed` or the path of a JSON file holding
   * one; applied when `dataDir` holds no state of that account yet). Every token reaches every
   * account, like a Cloudflare user token whose user belongs to several accounts, and `GET
   * /accounts` lists them all. Ids are 32 lowercase hex characters, each listed once. With
   * `dataDir`, accounts stored there and not listed here are still served. Default: none.
   *
   * @example
   * ```ts
   * const emu = await startEmulator({
   *   accountId: "a".repeat(32),
   *   seed: { stores: [{ name: "default_secrets_store" }] },
   *   accounts: [{ accountId: "b".repeat(32), seed: { stores: [{ name: "default_secrets_store" }] } }],
   * });
   * emu.accountIds; // ["aaaa…", "bbbb…"]
   * ```
   */
  accounts?: Array<{ accountId: string; seed?: string | EmulatorSeed }>;
  /**
   * The API tokens it accepts (`Authorization: Bearer <token>`, or as `X-Auth-Key` with an
   * `X-Auth-Email`); a `read` token gets 403 (code 10000) on anything but GET; a `workers` token
   * may edit Workers but only read Secrets Store (403 on a Secrets Store write, 400 code 10021 on
   * a Worker write that binds a store secret). Default: one random edit token.
   *
   * @see https://developers.cloudflare.com/api/
   */
  tokens?: Array<{ token: string; permission: Permission }>;
  /**
   * Secrets per account across all stores. Default DEFAULT_QUOTA (100).
   *
   * @see https://developers.cloudflare.com/secrets-store/
   */
  quota?: number;
  /**
   * Stores per account. Default DEFAULT_MAX_STORES (1).
   *
   * @see https://developers.cloudflare.com/secrets-store/
   */
  maxStores?: number;
  /**
   * How long a secret stays `pending` after a create, a duplicate or a value change, in ms: each
   * window lasts `pendingMs * (1 + Math.random() * 0.5)`. During it every answer says `"pending"`,
   * a Worker write that binds the secret is refused (400, code 10182, as Cloudflare refuses a
   * binding to a secret that has not propagated), and existing bindings read the previous value.
   * Default DEFAULT_PENDING_MS (1000). 0 turns the window off: the secret is active right after
   * the answer that created it (which still says `"pending"`).
   *
   * @example
   * ```ts
   * // A test that binds secrets right after creating them and is not about propagation:
   * const emu = await startEmulator({ pendingMs: 0 });
   * // A test of a client's wait-until-active loop, with a longer window:
   * const slow = await startEmulator({ pendingMs: 5000 });
   * ```
   *
   * @see https://developers.cloudflare.com/secrets-store/
   */
  pendingMs?: number;
  /** Milliseconds added to every API response (not to hooks). Default 0. */
  latencyMs?: number;
  /**
   * API requests per window per token before 429 (code 971, with `Retry-After`). Default
   * DEFAULT_RATE_LIMIT (1200).
   *
   * @see https://developers.cloudflare.com/fundamentals/api/reference/limits/
   */
  rateLimit?: number;
  /**
   * The rate limit's fixed window in milliseconds. Default DEFAULT_RATE_LIMIT_WINDOW_MS (300000,
   * five minutes).
   *
   * @see https://developers.cloudflare.com/fundamentals/api/reference/limits/
   */
  rateLimitWindowMs?: number;
  /**
   * Stores, secrets and Workers to start with: an `EmulatorSeed` object or the path of a JSON
   * file holding one. Checked by the same rules as the API; ignored when `dataDir` already holds
   * state.
   */
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

/**
 * A started emulator: where it listens, the account and tokens to use, and `close()`.
 *
 * @example
 * ```ts
 * const emu = await startEmulator();
 * // wrangler:
 * const env = { ...process.env, CLOUDFLARE_API_BASE_URL: emu.url, CLOUDFLARE_API_TOKEN: emu.token, CLOUDFLARE_ACCOUNT_ID: emu.accountId };
 * // the cloudflare SDK:
 * const cf = new Cloudflare({ apiToken: emu.token, baseURL: emu.url });
 * await emu.close();
 * ```
 */
export interface RunningEmulator {
  /**
   * `http://127.0.0.1:PORT/client/v4`: the API base URL for wrangler (`CLOUDFLARE_API_BASE_URL`)
   * and the SDK (`baseURL`). A wildcard host (0.0.0.0, ::) is given as loopback here.
   *
   * @see https://developers.cloudflare.com/api/
   */
  url: string;
  /** `http://127.0.0.1:PORT`: the hooks live under `${origin}/__emulator/`. */
  origin: string;
  /** The first account's id (32 hex characters), the `:account_id` every API path must name. */
  accountId: string;
  /** Every account the emulator serves, the first (`accountId`) first. */
  accountIds: string[];
  /** The first edit token (the first token when there is no edit token). */
  token: string;
  /** Every token the emulator accepts, with its permission (copies: changing them changes nothing). */
  tokens: Array<{ token: string; permission: Permission }>;
  /**
   * The token the test hooks (`${origin}/__emulator/…`) require, as `Authorization: Bearer
   * <hookToken>` or `X-Emulator-Hook-Token: <hookToken>`; API tokens are not accepted there.
   * Undefined when the emulator was started with `hooks: false`.
   */
  hookToken: string | undefined;
  /**
   * Stop listening and drop open connections; resolves when the server is closed. Calling it
   * again returns the same promise. The state in `dataDir` (if any) is already on disk.
   */
  close(): Promise<void>;
}

/**
 * A token like Cloudflare's: 40 characters of [A-Za-z0-9_-] (30 random bytes, base64url).
 *
 * @example
 * ```ts
 * const emu = await startEmulator({ tokens: [{ token: randomToken(), permission: "read" }] });
 * ```
 */
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
    if (!PERMISSIONS.includes(t.permission)) throw new Error(`token permission must be "read", "edit" or "workers" (got ${String(t.permission)})`);
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
 * bad one, a data directory others can write, a corrupt state file, or a port in use). State
 * comes from `dataDir` if it holds some, else from `seed`, else it starts empty.
 *
 * @example
 * ```ts
 * const emu = await startEmulator({
 *   seed: {
 *     stores: [{ name: "main", id: "5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60" }],
 *     secrets: [{ store: "main", name: "API_KEY", value: "s3cr3t", scopes: ["workers"] }],
 *     workers: [{ name: "my-worker", bindings: [{ name: "API_KEY", type: "secrets_store_secret", store_id: "5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60", secret_name: "API_KEY" }] }],
 *   },
 * });
 * try {
 *   // … point a client at emu.url with emu.token …
 * } finally {
 *   await emu.close();
 * }
 * ```
 *
 * @see https://developers.cloudflare.com/secrets-store/
 * @see https://developers.cloudflare.com/workers/configuration/secrets/
 * @see https://developers.cloudflare.com/api/
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  checkInt("port", options.port, 0, 65_535);
  checkInt("quota", options.quota, 0);
  checkInt("maxStores", options.maxStores, 0);
  checkInt("latencyMs", options.latencyMs, 0);
  checkInt("pendingMs", options.pendingMs, 0);
  checkInt("rateLimit", options.rateLimit, 1);
  checkInt("rateLimitWindowMs", options.rateLimitWindowMs, 1);
  if (options.accountId !== undefined && !HEX32.test(options.accountId)) {
    throw new Error(`accountId must be 32 lowercase hex characters like Cloudflare's (got "${options.accountId}")`);
  }
  const extra = options.accounts ?? [];
  if (!Array.isArray(extra)) throw new Error("accounts must be an array of { accountId, seed? }");
  for (const a of extra) {
    if (typeof a?.accountId !== "string" || !HEX32.test(a.accountId)) {
      throw new Error(`accounts: each accountId must be 32 lowercase hex characters like Cloudflare's (got "${String(a?.accountId)}")`);
    }
  }
  const tokens: TokenGrant[] = options.tokens?.map((t) => ({ ...t })) ?? [{ token: randomToken(), permission: "edit" }];
  checkTokens(tokens);
  const [firstToken] = tokens;
  if (!firstToken) throw new Error("tokens must hold at least one token");
  checkHookOptions(options);
  const hooksOn = options.hooks ?? true;
  const hookToken = options.hookToken ?? randomToken();
  const seed = options.seed !== undefined ? readSeed(options.seed) : undefined;
  const extraSeeds = extra.map((a) => (a.seed !== undefined ? readSeed(a.seed) : undefined));

  const persistence = options.dataDir !== undefined ? new Persistence(options.dataDir) : undefined;
  const stored = persistence?.load();
  const storedFirst = stored?.[0]?.accountId;
  if (storedFirst !== undefined && options.accountId !== undefined && storedFirst !== options.accountId) {
    throw new Error(`${options.dataDir} holds the state of account ${storedFirst}, not ${options.accountId}`);
  }
  const firstId = storedFirst ?? options.accountId ?? DEFAULT_ACCOUNT_ID;
  const listed = new Set([firstId]);
  for (const a of extra) {
    if (listed.has(a.accountId)) throw new Error(`accounts: account ${a.accountId} is listed twice (the first account is ${firstId})`);
    listed.add(a.accountId);
  }
  // The stored accounts first (in their order), then the listed ones the data directory lacks.
  const storedById = new Map((stored ?? []).map((snap) => [snap.accountId, snap] as const));
  const seeds = new Map<string, EmulatorSeed | undefined>([[firstId, seed], ...extra.map((a, i) => [a.accountId, extraSeeds[i]] as const)]);
  const ids = [...new Set([firstId, ...storedById.keys(), ...extra.map((a) => a.accountId)])];

  const served: { accounts?: EmulatorAccounts } = {};
  // Any account's commit writes them all (one file), the committing one from its fresh snapshot.
  const writer: SnapshotWriter | undefined = persistence && {
    save: (snap: Snapshot) => persistence.saveAll((served.accounts?.all() ?? []).map((s) => (s.accountId === snap.accountId ? snap : s.snapshot()))),
  };
  const stateOptions = (accountId: string) => ({
    accountId,
    quota: options.quota ?? DEFAULT_QUOTA,
    maxStores: options.maxStores ?? DEFAULT_MAX_STORES,
    pendingMs: options.pendingMs ?? DEFAULT_PENDING_MS,
  });
  let added = false;
  const states = ids.map((id) => {
    const state = new EmulatorState(stateOptions(id), writer);
    const kept = storedById.get(id);
    if (kept) {
      state.restore(kept);
      return state;
    }
    added = true;
    const accountSeed = seeds.get(id);
    if (accountSeed) {
      // Seed in memory first: a seed that fails half-way must not leave half a state on disk.
      const seeded = new EmulatorState(stateOptions(id));
      try {
        applySeed(seeded, accountSeed);
      } catch (err) {
        throw ids.length > 1 ? new Error(`account ${id}: ${(err as Error).message}`, { cause: err }) : err;
      }
      state.restore(seeded.snapshot());
    }
    return state;
  });
  const accounts = (served.accounts = new EmulatorAccounts(states));
  if (added) accounts.first.commit();
  const state = accounts.first;

  const api = new ApiServer({
    accounts,
    startup: accounts.snapshots(),
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
    accountIds: accounts.ids(),
    token: (tokens.find((t) => t.permission === "edit") ?? firstToken).token,
    tokens: tokens.map((t) => ({ ...t })),
    hookToken: hooksOn ? hookToken : undefined,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        api.http.close((err) => (err ? reject(err) : resolve()));
        api.http.closeAllConnections();
      })),
  };
}
