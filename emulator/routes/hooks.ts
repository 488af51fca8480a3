/**
 * Test hooks under `/__emulator/` (outside `/client/v4`, so no client mistakes them for the API).
 * They need no token, are not rate limited, not delayed, not logged, and not subject to faults.
 *
 *   GET    /__emulator/health
 *   GET    /__emulator/requests                 → [{method, path, status}]
 *   DELETE /__emulator/requests                 clears the log
 *   GET    /__emulator/faults                   → the active rules
 *   POST   /__emulator/faults                   adds a rule or an array of rules
 *   DELETE /__emulator/faults                   clears them
 *   POST   /__emulator/reset                    back to the startup state; clears log and faults
 *   GET    /__emulator/secrets/{secret_id}/sha256                                    → {sha256}
 *   GET    /__emulator/accounts/{account_id}/workers/scripts/{name}/bindings/{binding}/sha256 → {sha256}
 */
import { createHash } from "node:crypto";
import { parseJson } from "../body";
import type { RequestLogEntry } from "../context";
import { ApiError, apiError, failure, type ApiResponse } from "../envelope";
import type { FaultRules } from "../faults";
import type { EmulatorState } from "../state";
import { bindingValue, requireWorker } from "./workers";

export interface HookDeps {
  state: EmulatorState;
  faults: FaultRules;
  requests: RequestLogEntry[];
  /** Restore the startup state and clear the request log and the faults. */
  reset(): void;
}

const json = (body: unknown, status = 200): ApiResponse => ({ status, body });
const sha256 = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");

export function handleHook(deps: HookDeps, method: string, path: string, body: Buffer): ApiResponse {
  try {
    return route(deps, method, path, body);
  } catch (err) {
    if (err instanceof ApiError) return failure(err);
    throw err;
  }
}

function route(deps: HookDeps, method: string, path: string, body: Buffer): ApiResponse {
  const is = (m: string, p: string) => method === m && path === p;
  if (is("GET", "/__emulator/health")) return json({ ok: true, accountId: deps.state.accountId });
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
    const secret = deps.state.secrets.get(decodeURIComponent(secretHash[1]!));
    if (!secret) throw apiError(404, 1001, `secret_not_found: no secret with id ${secretHash[1]}`);
    return json({ sha256: sha256(secret.value) });
  }

  const bindingHash = /^\/__emulator\/accounts\/([^/]+)\/workers\/scripts\/([^/]+)\/bindings\/([^/]+)\/sha256$/.exec(path);
  if (bindingHash && method === "GET") {
    const [, account, script, binding] = bindingHash.map((s) => decodeURIComponent(s));
    if (account !== deps.state.accountId) throw apiError(404, 7003, `No account ${account} in this emulator (its account is ${deps.state.accountId})`);
    const worker = requireWorker(deps.state, script!);
    return json({ sha256: sha256(bindingValue(deps.state, worker, binding!)) });
  }

  throw apiError(404, 7003, `No emulator hook ${method} ${path}`);
}
