/** What a route handler receives, and how routes are declared. */
import type { HandlerResponse } from "./envelope";
import type { EmulatorState } from "./state";

/**
 * What an API token may do: `read` may only GET (anything else answers 403, code 10000); `edit`
 * may do everything; `workers` may edit Workers but only read Secrets Store (a write under
 * `…/secrets_store/` answers 403, code 10000, and a Worker write that binds a store secret
 * answers 400, code 10021, as Cloudflare answers a token without Secrets Store Edit).
 *
 * @example
 * ```ts
 * const emu = await startEmulator({ tokens: [{ token: "deployer", permission: "workers" }, { token: "admin", permission: "edit" }] });
 * ```
 *
 * @see https://developers.cloudflare.com/api/
 * @see https://developers.cloudflare.com/secrets-store/access-control/
 */
export type Permission = "read" | "edit" | "workers";

/** Every `Permission`, for checks and the CLI. */
export const PERMISSIONS: readonly Permission[] = ["read", "edit", "workers"];

export interface RequestContext {
  method: string;
  /** Path and query as received, e.g. `/client/v4/accounts/…/secrets?page=2`. */
  url: string;
  /** The path below `/client/v4`, without the query. */
  apiPath: string;
  query: URLSearchParams;
  /** Path parameters named in the route pattern (`:store_id` → `params.store_id`). */
  params: Record<string, string>;
  contentType: string;
  body: Buffer;
  permission: Permission;
  /** A stable, non-secret id for the caller's token (a hash prefix). */
  tokenId: string;
  /** The account the path names (`:account_id`), or the first account for paths without one. */
  state: EmulatorState;
  /** Every account the emulator serves, the first one first (what `GET /accounts` lists). */
  accountIds: readonly string[];
  /** Accept SDK 7.x bracket-notation multipart fields (real Cloudflare does not). */
  acceptBracketMultipart: boolean;
  /** The `User-Agent` header (`wrangler/4…` tells a wrangler deploy from another API client). */
  userAgent: string;
}

export type Handler = (ctx: RequestContext) => HandlerResponse | Promise<HandlerResponse>;

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Below `/client/v4`, with `:name` parameters; `:account_id` must be one of the emulator's accounts. */
  path: string;
  handler: Handler;
  /**
   * The largest body this route reads, and the error code of its 413 answer. Default
   * `{ bytes: MAX_BODY_BYTES (1 MiB), code: 1000 }`.
   */
  bodyLimit?: BodyLimit;
}

/** A route's body size limit and the Cloudflare error code of the 413 that enforces it. */
export interface BodyLimit {
  bytes: number;
  code: number;
}

/**
 * One line of the request log (`GET /__emulator/requests`, oldest first): never bodies, never
 * headers, never query strings (a token sent as `?token=` must not be served back).
 *
 * @example
 * ```ts
 * const res = await fetch(`${emu.origin}/__emulator/requests`, { headers: { authorization: `Bearer ${emu.hookToken}` } });
 * const log = (await res.json()) as RequestLogEntry[];
 * // [{ method: "GET", path: "/client/v4/accounts/…/secrets_store/stores", status: 200 }, …]
 * ```
 */
export interface RequestLogEntry {
  /** The HTTP method. */
  method: string;
  /** The request path as received, without the query string. */
  path: string;
  /** The response status; 0 = the connection was reset or the client went away. */
  status: number;
}
