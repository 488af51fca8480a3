/**
 * Test hooks under `/__emulator/` (outside `/client/v4`, so no client mistakes them for the API).
 * They are not rate limited, not delayed, not logged, and not subject to faults, but they are
 * guarded (see `hookGate`): they can be switched off, answer loopback clients only unless told
 * otherwise, and need the hook token (a separate secret from the API tokens, because hooks reveal
 * what the API never does: hashes of secret values, the request log, and a reset).
 *
 *   GET    /__emulator/health
 *   GET    /__emulator/requests                 → [{method, path, status}]
 *   DELETE /__emulator/requests                 clears the log
 *   GET    /__emulator/faults                   → the active rules
 *   POST   /__emulator/faults                   adds a rule or an array of rules
 *   DELETE /__emulator/faults                   clears them
 *   POST   /__emulator/reset                    back to the startup state; clears log and faults
 *   GET    /__emulator/secrets/{secret_id}/sha256   (in any account)                 → {sha256}
 *   GET    /__emulator/accounts/{account_id}/workers/scripts/{name}/bindings/{binding}/sha256 → {sha256}
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type * as http from "node:http";
import { parseJson } from "../body";
import type { RequestLogEntry } from "../context";
import { bindingValue, requireWorker } from "../domain/workers";
import { ApiError, apiError, failure, routeNotFound, type HandlerResponse } from "../envelope";
import type { FaultRules } from "../faults";
import type { EmulatorAccounts } from "../state";

/** Who may call the hooks. */
export interface HookAccess {
  /** false: every hook path answers 404 as if it did not exist. */
  enabled: boolean;
  /** The secret a caller shows as `Authorization: Bearer <token>` or `X-Emulator-Hook-Token: <token>`. */
  token: string;
  /** Also answer clients whose address is not loopback (default false). */
  allowRemote: boolean;
}

/**
 * The header that can carry the hook token instead of `Authorization: Bearer`.
 *
 * @example
 * ```ts
 * await fetch(`${emu.origin}/__emulator/reset`, { method: "POST", headers: { [HOOK_TOKEN_HEADER]: emu.hookToken! } });
 * ```
 */
export const HOOK_TOKEN_HEADER = "x-emulator-hook-token";

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return address === "::1" || address === "0:0:0:0:0:0:0:1";
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The hook token the request shows, from `X-Emulator-Hook-Token` or `Authorization: Bearer`. */
function presentedToken(headers: http.IncomingHttpHeaders): string | undefined {
  const header = headers[HOOK_TOKEN_HEADER];
  if (typeof header === "string" && header !== "") return header.trim();
  const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? "");
  return m?.[1];
}

/**
 * Undefined when the request may use the hooks, else the error to answer: 404 when hooks are off,
 * 403 for a client that is not on loopback (unless `allowRemote`), 401 without the right token.
 */
export function hookGate(access: HookAccess, req: http.IncomingMessage, path: string): ApiError | undefined {
  if (!access.enabled) return routeNotFound(path);
  if (!access.allowRemote && !isLoopbackAddress(req.socket.remoteAddress)) {
    return apiError(
      403,
      10000,
      "Authentication error: the emulator's hooks answer loopback clients only (start it with --hooks-allow-remote / hooksAllowRemote to change that)",
    );
  }
  const token = presentedToken(req.headers);
  if (token === undefined) {
    return apiError(
      401,
      9106,
      "Missing hook token: send Authorization: Bearer <hook token> (or X-Emulator-Hook-Token); the emulator prints it at start-up and startEmulator() returns it as hookToken",
    );
  }
  if (!sameSecret(token, access.token)) return apiError(401, 1000, "Invalid hook token");
  return undefined;
}

export interface HookDeps {
  /** Every account served; `health` names the first. */
  accounts: EmulatorAccounts;
  faults: FaultRules;
  requests: RequestLogEntry[];
  /** Restore the startup state and clear the request log and the faults. */
  reset(): void;
}

const json = (body: unknown, status = 200): HandlerResponse => ({ status, body });
const sha256 = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");

/** Answer one hook call (the caller has passed `hookGate`); errors become failure envelopes. */
export function handleHook(deps: HookDeps, method: string, path: string, body: Buffer): HandlerResponse {
  try {
    return route(deps, method, path, body);
  } catch (err) {
    if (err instanceof ApiError) return failure(err);
    throw err;
  }
}

function route(deps: HookDeps, method: string, path: string, body: Buffer): HandlerResponse {
  const is = (m: string, p: string) => method === m && path === p;
  if (is("GET", "/__emulator/health")) return json({ ok: true, accountId: deps.accounts.first.accountId });
  if (is("GET", "/__emulator/requests")) return json(deps.requests);
  if (is("DELETE", "/__emulator/requests")) {
    deps.requests.length = 0;
    return json({ ok: true });
  }
  if (is("GET", "/__emulator/faults")) return json(deps.faults.list());
  if (is("POST", "/__emulator/faults")) {
    deps.faults.add(parseJson(body));
    return json({ ok: true, faults: deps.faults.list() });
  }
  if (is("DELETE", "/__emulator/faults")) {
    deps.faults.clear();
    return json({ ok: true });
  }
  if (is("POST", "/__emulator/reset")) {
    deps.reset();
    return json({ ok: true });
  }

  const secretHash = /^\/__emulator\/secrets\/([^/]+)\/sha256$/.exec(path);
  if (secretHash && method === "GET") {
    const [, id = ""] = secretHash;
    const secret = deps.accounts.findSecret(decodeURIComponent(id));
    if (!secret) throw apiError(404, 1001, `secret_not_found: no secret with id ${secretHash[1]}`);
    return json({ sha256: sha256(secret.value) });
  }

  const bindingHash = /^\/__emulator\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/bindings\/([^/]+)\/sha256$/.exec(path);
  if (bindingHash && method === "GET") {
    const [, account = "", script = "", binding = ""] = bindingHash.map((s) => decodeURIComponent(s));
    const state = deps.accounts.get(account);
    if (!state) throw apiError(404, 7003, `No account ${account} in this emulator (its accounts: ${deps.accounts.ids().join(", ")})`);
    const worker = requireWorker(state, script);
    return json({ sha256: sha256(bindingValue(state, worker, binding)) });
  }

  throw apiError(404, 7003, `No emulator hook ${method} ${path}`);
}
