/**
 * Configuration, read at call time (or handed over by the host's `configure`), never at module
 * scope, so no token or account id is ever captured in the serialized provider.
 */
import { CLOUDFLARE_RATE_BUDGET, type RateBudget } from "../api/rate-limit";
import { CLOUDFLARE_API_BASE_URL, type ApiSettings } from "../api/request";

/** What the dynamic provider host passes to `configure`: the whole stack config, keys namespaced. */
export interface StackConfig {
  get(key: string): string | undefined;
}

let stackConfig: StackConfig | undefined;

/**
 * Keeps the stack config the host handed to `configure` (see `configure` in `./index.ts`, which
 * every resource's shim calls); settings are read from it at call time.
 */
export function rememberStackConfig(config: StackConfig | undefined): void {
  stackConfig = config;
}

function fromConfig(key: string): string | undefined {
  const value = stackConfig?.get(key);
  return value === undefined || value === "" ? undefined : value;
}

function fromEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** A setting that is missing; the message names every way to set it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    /** The resource property the failure is reported on ("" for provider-wide settings). */
    readonly property: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Settings {
  api: ApiSettings;
  accountId: string;
}

/** The account a resource works in: its own `accountId`, else stack config, else the environment. */
export function accountIdFor(resourceAccountId?: string): string | undefined {
  return resourceAccountId || fromConfig("cloudflare-secrets-store:accountId") || fromEnv("CLOUDFLARE_ACCOUNT_ID");
}

/** Resolves token, account id and base URL. Throws {@link ConfigError} naming both ways to set what is missing. */
export function resolveSettings(resourceAccountId?: string): Settings {
  const apiToken = fromConfig("cloudflare:apiToken") ?? fromEnv("CLOUDFLARE_API_TOKEN");
  if (!apiToken) {
    throw new ConfigError(
      "",
      "No Cloudflare API token. Set it with `pulumi config set --secret cloudflare:apiToken <token>` or the CLOUDFLARE_API_TOKEN environment variable.",
    );
  }
  const accountId = accountIdFor(resourceAccountId);
  if (!accountId) {
    throw new ConfigError(
      "accountId",
      "No Cloudflare account id. Set the resource's `accountId`, or `pulumi config set cloudflare-secrets-store:accountId <id>`, or the CLOUDFLARE_ACCOUNT_ID environment variable.",
    );
  }
  const baseUrl = fromConfig("cloudflare-secrets-store:apiBaseUrl") ?? fromEnv("CLOUDFLARE_API_BASE_URL") ?? CLOUDFLARE_API_BASE_URL;
  return { api: { apiToken, baseUrl, rateBudget: rateBudget() }, accountId };
}

/** How many stores an account may hold (`cloudflare-secrets-store:maxStores`; Cloudflare's beta limit is 1). */
export function maxStoresPerAccount(): number {
  const raw = fromConfig("cloudflare-secrets-store:maxStores");
  const n = raw === undefined ? 1 : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/**
 * Whether this run may delete or unscope a secret that Workers still bind
 * (`cloudflare-secrets-store:deleteWhenBound` set to "true"): the way to accept the break for a
 * resource already removed from the program, whose own `deleteWhenBound` can no longer be set.
 */
export function deleteWhenBoundByConfig(): boolean {
  return fromConfig("cloudflare-secrets-store:deleteWhenBound") === "true";
}

/** How long a binding write waits for a pending secret, by default. */
export const DEFAULT_PENDING_TIMEOUT_SECONDS = 60;

/**
 * How long a binding write waits for the secrets it names to become `active`
 * (`cloudflare-secrets-store:pendingTimeoutSeconds`, a whole number of seconds; default 60).
 */
export function pendingTimeoutMs(): number {
  const raw = fromConfig("cloudflare-secrets-store:pendingTimeoutSeconds");
  if (raw === undefined) return DEFAULT_PENDING_TIMEOUT_SECONDS * 1000;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new ConfigError(
      "",
      `\`cloudflare-secrets-store:pendingTimeoutSeconds\` is "${raw}"; it must be a whole number of seconds, at least 1, for example 120 (default ${DEFAULT_PENDING_TIMEOUT_SECONDS}).`,
    );
  }
  return seconds * 1000;
}

/**
 * The request budget (`cloudflare-secrets-store:rateLimit`, "<requests>/<seconds>"; default
 * Cloudflare's "1200/300"). Lower it when other tools share the token's budget.
 */
function rateBudget(): RateBudget {
  const raw = fromConfig("cloudflare-secrets-store:rateLimit");
  const match = raw === undefined ? undefined : /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  if (raw !== undefined && !match) {
    throw new ConfigError(
      "",
      `\`cloudflare-secrets-store:rateLimit\` is "${raw}"; write it as "<requests>/<seconds>", for example "1200/300" (Cloudflare's limit).`,
    );
  }
  return match ? { requests: Math.max(1, Number(match[1])), windowMs: Math.max(1, Number(match[2])) * 1000 } : CLOUDFLARE_RATE_BUDGET;
}
