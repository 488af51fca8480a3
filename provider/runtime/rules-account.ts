/** Check-time reads of the account: its settings, and a refused read as a check failure naming the fix. */
import { CloudflareApiError } from "../api/error";
import { accountIdFor, ConfigError, resolveSettings, type Settings } from "./config";
import type { CheckFailure } from "./rules-inputs";
import { HEX_ID } from "./rules-values";

/** What a check-time API error is about, to name the property and the fix. */
export interface CheckContext {
  /** The account the resource works in. */
  accountId?: string;
  /** Whether the account id came from the resource's own `accountId` (else stack config or the environment). */
  ownAccountId?: boolean;
  storeId?: string;
}

/**
 * A read during check that Cloudflare refused, as a failure naming the property and the fix:
 * an unknown or revoked token, a token without access to the account, a store that does not
 * exist. Other errors (including configuration errors) become a failure with their own message.
 */
export function apiCheckFailure(err: unknown, ctx: CheckContext): CheckFailure {
  if (!(err instanceof CloudflareApiError)) {
    const e = err as { property?: unknown; message?: unknown };
    if (err instanceof Error && typeof e.property === "string") return { property: e.property, reason: err.message };
    throw err;
  }
  const account = ctx.accountId ? `account ${ctx.accountId}` : "the account";
  const accountProperty = ctx.ownAccountId ? "accountId" : "";
  const setAccount = ctx.ownAccountId
    ? "Check the resource's `accountId`"
    : "Check the account id (`pulumi config set cloudflare-secrets-store:accountId <id>` or CLOUDFLARE_ACCOUNT_ID)";
  const seen = `(Cloudflare answered ${err.status}: ${err.errors.map((e) => e.message).join("; ") || "no error message"}, on ${err.method} ${err.path})`;
  if (err.status === 401 || (err.status === 400 && err.has(6003))) {
    return {
      property: "",
      reason: `Cloudflare refused the API token: it is unknown, revoked or malformed ${seen}. Create a token with 'Account Secrets Store Edit' (and 'Workers Scripts Edit' for bindings) and set it with \`pulumi config set --secret cloudflare:apiToken <token>\` or the CLOUDFLARE_API_TOKEN environment variable.`,
    };
  }
  if (err.status === 403) {
    return {
      property: accountProperty,
      reason: `The API token has no access to ${account} ${seen}: it belongs to another account, or lacks 'Account Secrets Store Read'. ${setAccount}, or use a token made for that account.`,
    };
  }
  if (err.status === 404 && ctx.storeId !== undefined && err.path.includes(`/stores/${ctx.storeId}`)) {
    return {
      property: "storeId",
      reason: `Store ${ctx.storeId} does not exist in ${account} ${seen}. Pass the id of an existing store: \`storeId: store.id\` of a SecretsStore (\`adopt: true\` takes over the account's existing store), or the id the dashboard shows.`,
    };
  }
  if (err.status === 404) {
    return {
      property: accountProperty,
      reason: `Cloudflare does not know ${account} ${seen}. ${setAccount}: it is the 32-character id in the dashboard's URL.`,
    };
  }
  return { property: "", reason: err.message };
}

/** {@link resolveSettings} for a check: also refuses an account id from stack config or the environment that is not 32 hex characters. */
export function checkedSettings(resourceAccountId: string | undefined): Settings {
  const settings = resolveSettings(resourceAccountId);
  if (!HEX_ID.test(settings.accountId)) {
    throw new ConfigError(
      "",
      "The Cloudflare account id set in `cloudflare-secrets-store:accountId` or CLOUDFLARE_ACCOUNT_ID is not an account id: it must be 32 lowercase hexadecimal characters, as in the dashboard's URL. Fix it with `pulumi config set cloudflare-secrets-store:accountId <id>`.",
    );
  }
  return settings;
}

/** The {@link CheckContext} of a resource whose own `accountId` is `resourceAccountId`. */
export const checkContext = (resourceAccountId: string | undefined, storeId?: string): CheckContext => ({
  accountId: accountIdFor(resourceAccountId),
  ownAccountId: resourceAccountId !== undefined,
  storeId,
});

/** The failure for a store id that is well-formed but names no store of the account. */
export const missingStore = (storeId: string, accountId: string): CheckFailure => ({
  property: "storeId",
  reason: `Store ${storeId} does not exist in account ${accountId}. Pass the id of an existing store: \`storeId: store.id\` of a SecretsStore (\`adopt: true\` takes over the account's existing store), or the id the dashboard shows.`,
});
