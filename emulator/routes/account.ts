/**
 * The few account-level routes clients call around Secrets Store: wrangler's account discovery
 * (`/accounts`, `/memberships`, when CLOUDFLARE_ACCOUNT_ID is unset) and token verification.
 */
import type { RequestContext, Route } from "../context";
import { ok, paginate, type HandlerResponse } from "../envelope";
import { parseListQuery } from "../validation";

export const ACCOUNT_NAME = "Cloudflare API emulator";

function listAccounts(ctx: RequestContext): HandlerResponse {
  const q = parseListQuery(ctx.query, { orders: ["name"], code: 1001 });
  const { pageItems, info } = paginate([{ id: ctx.state.accountId, name: ACCOUNT_NAME, type: "standard" }], q.page, q.perPage);
  return ok(pageItems, 200, info);
}

function listMemberships(ctx: RequestContext): HandlerResponse {
  const q = parseListQuery(ctx.query, { orders: ["id", "account.name", "status"], code: 1001 });
  const membership = { id: ctx.state.accountId, status: "accepted", account: { id: ctx.state.accountId, name: ACCOUNT_NAME } };
  const { pageItems, info } = paginate([membership], q.page, q.perPage);
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
