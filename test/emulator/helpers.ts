/** A tiny HTTP client for the emulator tests: raw requests, so every status and header is visible. */
import type { ChildProcess } from "node:child_process";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator";
import type { Json } from "../../tools/emulator-client";

/** Anything fetch takes as a body. */
export type RawBody = string | FormData | Blob | Uint8Array;

export interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is (a string, FormData, …) instead of JSON. */
  rawBody?: RawBody;
  /** Defaults to the emulator's edit token; null sends no credentials. */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface Harness {
  emu: RunningEmulator;
  /** Account-relative API call: `api("GET", "/secrets_store/stores")`. */
  api(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Call below `/client/v4` (any path). */
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** A test hook below `/__emulator`, with the hook token unless `token` says otherwise (null: none). */
  hook(method: string, path: string, body?: unknown, token?: string | null): Promise<Reply>;
  /** Create the store and return its id. */
  store(name?: string): Promise<string>;
  /** Create secrets in a store and return them. */
  secrets(storeId: string, items: Array<{ name: string; value: string; scopes?: string[]; comment?: string }>): Promise<Json[]>;
  /**
   * Poll the store's secret list (every 50 ms, up to `timeoutMs`) until no secret in it is
   * `pending`, as a client that binds a new secret must; resolves with how long it waited.
   */
  waitActive(storeId: string, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, body };
}

export { sha256 } from "../rig/bytes";

/**
 * Resolves once the emulator CLI running in `child` has printed its start-up lines (`listening on
 * <url>` through `state: …`), with its API URL and those lines; rejects when it exits first.
 */
export function cliStarted(child: ChildProcess): Promise<{ url: string; lines: string[] }> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr?.on("data", (d) => (err += d));
    child.stdout?.on("data", (d) => {
      out += d;
      const url = /listening on (\S+)/.exec(out)?.[1];
      if (url && /^state: /m.test(out)) resolve({ url, lines: out.trim().split("\n") });
    });
    child.once("exit", (code, signal) => reject(new Error(`emulator CLI exited (${code ?? signal}) before listening: ${err.trim()}`)));
  });
}

export async function harness(options: EmulatorOptions = {}): Promise<Harness> {
  const emu = await startEmulator({ port: 0, ...options });
  const call = async (method: string, path: string, o: CallOptions = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? emu.token : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: RawBody | undefined = o.rawBody;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    return reply(await fetch(`${emu.url}${path}`, { method, headers, body }));
  };
  const api = (method: string, path: string, o?: CallOptions) => call(method, `/accounts/${emu.accountId}${path}`, o);
  return {
    emu,
    call,
    api,
    hook: async (method, path, body, token) => {
      const t = token === undefined ? emu.hookToken : token;
      const headers: Record<string, string> = t === null || t === undefined ? {} : { authorization: `Bearer ${t}` };
      return reply(await fetch(`${emu.origin}/__emulator${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
    },
    store: async (name = "main") => {
      const r = await api("POST", "/secrets_store/stores", { body: { name } });
      if (r.status !== 200) throw new Error(`store create failed: ${JSON.stringify(r.body)}`);
      return r.body.result.id as string;
    },
    secrets: async (storeId, items) => {
      const r = await api("POST", `/secrets_store/stores/${storeId}/secrets`, {
        body: items.map((i) => ({ scopes: ["workers"], ...i })),
      });
      if (r.status !== 200) throw new Error(`secret create failed: ${JSON.stringify(r.body)}`);
      return r.body.result as Json[];
    },
    waitActive: async (storeId, timeoutMs = 10_000) => {
      const start = Date.now();
      for (;;) {
        const r = await api("GET", `/secrets_store/stores/${storeId}/secrets?per_page=100`);
        if (r.status !== 200) throw new Error(`secret list failed: ${JSON.stringify(r.body)}`);
        if ((r.body.result as Array<{ status: string }>).every((x) => x.status === "active")) return Date.now() - start;
        if (Date.now() - start > timeoutMs) throw new Error(`secrets of store ${storeId} still pending after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => emu.close(),
  };
}

/** The codes of an error envelope, checking its shape on the way. */
export function codes(r: Reply): number[] {
  if (r.body?.success !== false || r.body.result !== null || !Array.isArray(r.body.errors) || !Array.isArray(r.body.messages)) {
    throw new Error(`not a failure envelope: ${JSON.stringify(r.body)}`);
  }
  return r.body.errors.map((e: { code: number }) => e.code);
}

export function messages(r: Reply): string {
  return (r.body?.errors ?? []).map((e: { message: string }) => e.message).join("\n");
}

/** A multipart body for `PUT …/workers/scripts/:name`. */
export function uploadForm(
  metadata: Record<string, unknown>,
  modules: Record<string, string> = { "index.js": "export default { fetch() { return new Response('ok') } }" },
): FormData {
  const form = new FormData();
  form.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }), "metadata.json");
  for (const [name, code] of Object.entries(modules)) {
    form.append(name, new Blob([code], { type: "application/javascript+module" }), name);
  }
  return form;
}

/** `PATCH …/settings` the way SDK 5.x and our provider send it: one JSON part named settings. */
export function settingsForm(settings: Record<string, unknown>): FormData {
  const form = new FormData();
  form.append("settings", new Blob([JSON.stringify(settings)], { type: "application/json" }), "settings");
  return form;
}
