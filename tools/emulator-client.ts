/** Calls on a running emulator shared by the rig, the example stacks, the demo and the benchmark. */
import type { RequestLogEntry, RunningEmulator } from "../emulator";

export type { RequestLogEntry };

/** The stack config a program pointed at `emu` has: token (secret), account id, base URL. */
export const stackConfigFor = (emu: Pick<RunningEmulator, "token" | "accountId" | "url">): Record<string, string> => ({
  "cloudflare:apiToken": emu.token,
  "cloudflare-secrets-store:accountId": emu.accountId,
  "cloudflare-secrets-store:apiBaseUrl": emu.url,
});

/**
 * A parsed JSON answer that its caller reads field by field and checks with assertions. It is the
 * one `any` of the test tooling, named so it is found; pass a type instead where the shape is
 * known (`emulatorFetch<{ sha256: string }>(…)`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type Json = any;

/** True for a test hook path (`/__emulator` or below). */
export const isHookPath = (urlPath: string): boolean => urlPath === "/__emulator" || urlPath.startsWith("/__emulator/") || urlPath.startsWith("/__emulator?");

/**
 * The credentials for `urlPath`: the hook token for `/__emulator` hooks, the API token for
 * everything else (`/client/v4`). Use it for a raw `fetch` on the emulator.
 */
export function emulatorAuth(emu: RunningEmulator, urlPath: string): Record<string, string> {
  const token = isHookPath(urlPath) ? emu.hookToken : emu.token;
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/**
 * One call to the emulator (a `/__emulator` hook with the hook token, or a `/client/v4` API path
 * with the API token); a JSON `body` is serialised. Throws on a non-2xx answer; returns the
 * parsed JSON (or undefined).
 */
export async function emulatorFetch<T = Json>(emu: RunningEmulator, urlPath: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const isForm = init.body instanceof FormData;
  const res = await fetch(emu.origin + urlPath, {
    method: init.method ?? "GET",
    headers: { ...emulatorAuth(emu, urlPath), ...(isForm || init.body === undefined ? {} : { "content-type": "application/json" }) },
    body: isForm ? (init.body as FormData) : init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${urlPath}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The emulator's request log: method, path and status of every API request so far. */
export const requestLog = (emu: RunningEmulator): Promise<RequestLogEntry[]> => emulatorFetch(emu, "/__emulator/requests");

/** Deploys a Worker the way the API does: a multipart upload of metadata JSON plus one module. */
export async function deployWorker(
  emu: RunningEmulator,
  name: string,
  bindings: Array<Record<string, unknown>>,
  code = "export default { fetch() { return new Response('ok'); } };",
): Promise<void> {
  const form = new FormData();
  const metadata = { main_module: "index.js", compatibility_date: "2025-06-01", bindings };
  form.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }));
  form.append("index.js", new Blob([code], { type: "application/javascript+module" }), "index.js");
  await emulatorFetch(emu, `/client/v4/accounts/${emu.accountId}/workers/scripts/${name}`, { method: "PUT", body: form });
}
