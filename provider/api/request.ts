/**
 * The one function that talks HTTP to Cloudflare: it adds auth, unwraps the v4 envelope,
 * validates `result` with zod, and retries what is safe to retry. Reading a list page by page is
 * `pagination.ts`'s.
 */
import { request, FormData, type Dispatcher } from "undici";
import { z } from "zod";
import { CloudflareApiError, type CloudflareMessage } from "./error";
import { limiterFor, type RateBudget, type RateLimiter } from "./rate-limit";
import { registerSecretForRedaction } from "./redaction";

export { FormData };

/** Cloudflare's public API base URL. */
export const CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4";

/** How requests are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** No retry starts after this many milliseconds since the first attempt. */
  maxTotalMs: number;
  /** First backoff delay; it doubles on each retry, with jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Where and as whom to call the API. Built at call time from configuration; never serialized. */
export interface ApiSettings {
  apiToken: string;
  /** For example `https://api.cloudflare.com/client/v4`, or an emulator's `http://127.0.0.1:8787/client/v4`. */
  baseUrl: string;
  /** Per-request timeout (headers and body). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** The request budget shared by every request with this token in this process (default: Cloudflare's 1,200 per 5 minutes). */
  rateBudget?: RateBudget;
  /**
   * The limiter to pace these requests with, instead of the one this process keeps per token and
   * budget ({@link limiterFor}). For tests: two limiters on one token stand for two processes.
   */
  limiter?: RateLimiter;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, maxTotalMs: 90_000, baseDelayMs: 300, maxDelayMs: 10_000 };

type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface RequestOptions<T> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path below the base URL, for example `/accounts/{id}/secrets_store/stores`. */
  path: string;
  /** Query parameters; an array repeats the key (`scopes=a&scopes=b`), as Cloudflare expects. */
  query?: Query;
  /** A JSON body. */
  json?: unknown;
  /** A multipart body. */
  form?: FormData;
  /** Schema of `result`. */
  schema: z.ZodType<T>;
  /**
   * Whether the request may be re-sent when its outcome is unknown (timeout, reset, 502/503/504).
   * Default: every method but POST. A 429 is always retried: Cloudflare applied nothing.
   */
  idempotent?: boolean;
}

interface WireMessage {
  code: number;
  message: string;
  error_chain?: WireMessage[];
}
const Message: z.ZodType<WireMessage> = z.lazy(() => z.object({ code: z.number(), message: z.string(), error_chain: z.array(Message).optional() }));
const toMessage = (e: WireMessage): CloudflareMessage => ({
  code: e.code,
  message: e.message,
  ...(e.error_chain?.length ? { chain: e.error_chain.map(toMessage) } : {}),
});
const Envelope = z.object({
  success: z.boolean(),
  errors: z.array(Message).default([]),
  messages: z.array(z.unknown()).default([]),
  result: z.unknown(),
  result_info: z.unknown().optional(),
});

/** One answer: its validated `result`, and its `result_info` as received (read by `pagination.ts`). */
export interface ApiResponse<T> {
  result: T;
  resultInfo?: unknown;
}

/** Connection errors raised before anything was sent: always safe to retry. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);
const RETRY_STATUS = new Set([502, 503, 504]);

/**
 * Most bytes of a response body read before the call fails. The largest answers this client asks
 * for are a page of 100 secrets (about 50 KiB) and an account's unpaged Worker list (a few KiB per
 * Worker, so about 1 MiB for hundreds of Workers); 16 MiB leaves room for ten times that, and keeps
 * a broken or hostile server from filling the provider's memory.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Where the base URL is set, for messages that ask to change it. */
const BASE_URL_SETTING = "cloudflare-secrets-store:apiBaseUrl (or CLOUDFLARE_API_BASE_URL)";

/** Hosts an `http://` base URL may name: 127.0.0.0/8, `localhost` and `[::1]` (the URL parser normalises `127.1` and the like). */
const isLoopback = (hostname: string): boolean => hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/**
 * Why `baseUrl` may not carry the API token, or undefined when it may: it must be `https://`, or
 * `http://` to a loopback host (a local emulator). The message names the host only: a URL can hold
 * credentials.
 */
function baseUrlProblem(baseUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return `the API base URL is not a URL: set ${BASE_URL_SETTING} to an https:// URL, for example ${CLOUDFLARE_API_BASE_URL}`;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:") {
    if (isLoopback(url.hostname)) return undefined;
    return (
      `the API base URL is http:// to ${url.hostname}, which would send the API token unencrypted; http:// is accepted only for a loopback host ` +
      `(127.0.0.0/8, localhost, [::1]). Set ${BASE_URL_SETTING} to an https:// URL, for example ${CLOUDFLARE_API_BASE_URL}`
    );
  }
  return `the API base URL must be https:// (it is ${url.protocol}//): set ${BASE_URL_SETTING} to an https:// URL, for example ${CLOUDFLARE_API_BASE_URL}`;
}

/**
 * The first segment of `path` that is `.` or `..` or holds `/` or `\` once percent-decoded, or
 * undefined when there is none. URL parsers resolve such segments (`%2E%2E` included), so an id
 * like `..` would send the request to another object's URL.
 */
function badSegment(path: string): string | undefined {
  for (const segment of path.split("/").slice(1)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return segment;
    }
    if (decoded === "." || decoded === ".." || /[/\\]/.test(decoded)) return segment;
  }
  return undefined;
}

function buildUrl(baseUrl: string, path: string, query?: Query): string {
  const url = new URL(baseUrl.replace(/\/+$/, "") + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
  }
  return url.toString();
}

function pathForErrors(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The body as text, or undefined when it is longer than `limit` bytes (then it is not read further). */
async function readBody(res: Dispatcher.ResponseData, limit: number): Promise<string | undefined> {
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      res.body.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Sends one API call, with retries, and returns its validated `result`. Throws {@link CloudflareApiError}. */
export async function cfRequest<T>(settings: ApiSettings, options: RequestOptions<T>): Promise<ApiResponse<T>> {
  // Before anything can fail: an error must never repeat the token, even one an API echoes.
  registerSecretForRedaction(settings.apiToken);
  const policy = { ...DEFAULT_RETRY, ...settings.retry };
  const idempotent = options.idempotent ?? options.method !== "POST";
  const refused = baseUrlProblem(settings.baseUrl);
  if (refused) throw new CloudflareApiError(options.method, options.path, undefined, [], false, refused);
  const segment = badSegment(options.path);
  if (segment !== undefined) {
    const why = `refused to send: the path segment ${JSON.stringify(segment)} is "." or ".." or holds "/" or "\\" once decoded (an id from the API or the state is not a valid identifier)`;
    throw new CloudflareApiError(options.method, options.path, undefined, [], false, why);
  }
  const url = buildUrl(settings.baseUrl, options.path, options.query);
  const where = pathForErrors(url);
  const limiter = settings.limiter ?? limiterFor(settings.apiToken, settings.rateBudget);
  const timeout = settings.timeoutMs ?? 30_000;
  // Time spent waiting for room in the shared budget does not count against the retry budget
  // (the limiter's pauses are capped by the requests that set them; see the 429 branch).
  let sentAt = await limiter.acquire();
  const started = Date.now();
  let queuedMs = 0;
  /** Milliseconds of the retry budget used: since the first attempt, less the waits for the limiter. */
  const used = () => Date.now() - started - queuedMs;

  for (let attempt = 1; ; attempt++) {
    let retryAfterMs: number | undefined;
    let retryAfterHeader: string | undefined;
    let failure: CloudflareApiError;
    if (attempt > 1) {
      const asked = Date.now();
      sentAt = await limiter.acquire();
      queuedMs += sentAt - asked;
    }
    try {
      const headers: Record<string, string> = {
        authorization: `Bearer ${settings.apiToken}`,
        accept: "application/json",
        "user-agent": "pulumi-cloudflare-secrets-store",
      };
      let body: string | FormData | undefined;
      if (options.json !== undefined) {
        headers["content-type"] = "application/json";
        body = JSON.stringify(options.json);
      } else if (options.form) {
        body = options.form;
      }
      // Each attempt gets at most what is left of the total budget.
      const remaining = Math.max(1, policy.maxTotalMs - used());
      const res = await request(url, {
        method: options.method,
        headers,
        body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(Math.min(remaining, timeout)),
      });
      const text = await readBody(res, MAX_RESPONSE_BYTES);
      if (text === undefined) {
        const detail = `response body larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB: stopped reading (no answer of this API is that large)`;
        throw new CloudflareApiError(options.method, where, res.statusCode, [], !idempotent, detail);
      }
      if (res.statusCode === 429) limiter.throttled(sentAt);
      else limiter.succeeded();
      const parsed = parseEnvelope(text);
      if (res.statusCode >= 200 && res.statusCode < 300 && parsed?.success) {
        const result = options.schema.safeParse(parsed.result);
        if (!result.success) {
          // The call was applied; only its answer is unreadable.
          const issues = result.error.issues.map((i) => `${i.path.join(".") || "result"}: ${i.message}`).join("; ");
          throw new CloudflareApiError(options.method, where, res.statusCode, [], !idempotent, `unexpected response shape: ${issues}`);
        }
        return { result: result.data, resultInfo: parsed.result_info ?? undefined };
      }
      const errors: CloudflareMessage[] = parsed?.errors.map(toMessage) ?? [];
      const unknownOutcome = RETRY_STATUS.has(res.statusCode) || res.statusCode === 500;
      failure = new CloudflareApiError(options.method, where, res.statusCode, errors, unknownOutcome && !idempotent, parsed ? undefined : `non-JSON response`);
      if (res.statusCode !== 429 && !(RETRY_STATUS.has(res.statusCode) && idempotent)) throw failure;
      retryAfterHeader = [res.headers["retry-after"]].flat()[0];
      retryAfterMs = retryAfter(retryAfterHeader);
      if (res.statusCode === 429) {
        // A wait longer than what is left of the retry budget is not waited, and never imposed on the other requests.
        const left = policy.maxTotalMs - used();
        if (retryAfterMs !== undefined && retryAfterMs > left) {
          throw rateLimited(
            failure,
            `Retry-After: ${retryAfterHeader} asks for a longer wait than the ${Math.max(0, Math.round(left / 1000))} s left of the retry budget`,
          );
        }
        // Everyone waits, not only this request: the next ones would be refused too.
        limiter.pause(retryAfterMs ?? policy.baseDelayMs);
      }
    } catch (err) {
      if (err instanceof CloudflareApiError) throw err;
      const code = (err as { code?: string }).code ?? (err as Error).name;
      const notSent = NOT_SENT.has(code);
      failure = new CloudflareApiError(options.method, where, undefined, [], !notSent && !idempotent, `${code}: ${(err as Error).message}`);
      if (!notSent && !idempotent) throw failure;
    }

    const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    const delay = retryAfterMs ?? backoff * (0.5 + Math.random() / 2);
    if (attempt >= policy.maxAttempts || used() + delay > policy.maxTotalMs) {
      if (failure.status !== 429) throw failure;
      throw rateLimited(
        failure,
        `still refused after ${attempt} attempt${attempt === 1 ? "" : "s"}${retryAfterHeader ? ` (last Retry-After: ${retryAfterHeader})` : ""}`,
      );
    }
    await sleep(delay);
  }
}

/** The error of a 429 this request stops retrying: Cloudflare's code and message, then why it stopped. */
function rateLimited(failure: CloudflareApiError, why: string): CloudflareApiError {
  return new CloudflareApiError(failure.method, failure.path, 429, failure.errors, false, `rate limited: ${why}`);
}

/** `Retry-After` in milliseconds: seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

function parseEnvelope(text: string): z.infer<typeof Envelope> | undefined {
  try {
    const parsed = Envelope.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
