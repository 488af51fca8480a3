/**
 * The few account-level routes clients call around Secrets Store: wrangler's account discovery
 * (`/accounts`, `/memberships`, when CLOUDFLARE_ACCOUNT_ID is unset: every account the emulator
 * serves, the first one first) and token verification.
 */
import type { RequestContext, Route } from "../context";
import { ok, paginate, type HandlerResponse } from "../envelope";
import { parseListQuery } from "../validation";

export const ACCOUNT_NAME = "Cloudflare API emulator";

/** The name `GET /accounts` gives an account: the first is `ACCOUNT_NAME`, the others `ACCOUNT_NAME (account N)`. */
function accountName(index: number): string {
  return index === 0 ? ACCOUNT_NAME : `${ACCOUNT_NAME} (account ${index + 1})`;
}

function listAccounts(ctx: RequestContext): HandlerResponse {
  const q = parseListQuery(ctx.query, { orders: ["name"], code: 1001 });
  const all = ctx.accountIds.map((id, i) => ({ id, name: accountName(i), type: "standard" }));
  const { pageItems, info } = paginate(all, q.page, q.perPage);
  return ok(pageItems, 200, info);
}

function listMemberships(ctx: RequestContext): HandlerResponse {
  const q = parseListQuery(ctx.query, { orders: ["id", "account.name", "status"], code: 1001 });
  const all = ctx.accountIds.map((id, i) => ({ id, status: "accepted", account: { id, name: accountName(i) } }));
  const { pageItems, info } = paginate(all, q.page, q.perPage);
  return ok(pageItems, 200, info);
}

function verifyToken(ctx: RequestContext): HandlerResponse {
  return {
    status: 200,
    body: {
      success: true,
      errors: [],
      messages: [{ code: 10000, message: "This API Token is valid and active", type: null }],
      result: { id: ctx.tokenId, status: "active" },
    },
  };
}

export const accountRoutes: Route[] = [
  { method: "GET", path: "/accounts", handler: listAccounts },
  { method: "GET", path: "/memberships", handler: listMemberships },
  { method: "GET", path: "/user/tokens/verify", handler: verifyToken },
];
