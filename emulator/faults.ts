/**
 * Injected faults for `/client/v4` requests, set through `POST /__emulator/faults`:
 * `{method?, path, mode, times?, status?}` where `path` is a regular expression (source text)
 * tested against the request path including its query string.
 *
 * Modes: `error-before` (a 5xx envelope, nothing applied), `error-after` (the request is applied,
 * then answered with a 5xx), `reset` (the connection is destroyed without a response, nothing
 * applied), `delay:<ms>` (answered normally after a pause), `429` (rate-limited, `Retry-After: 1`),
 * `echo` (an error whose message repeats the request body, as some APIs do in validation errors;
 * nothing applied: it tests that a client never shows or stores what it sent, a secret value
 * included). `times` (default 1) is how many matching requests the rule affects; `status` is the
 * HTTP status of the error modes: 500–599, default 500 (`echo`: 400–599, default 400).
 */
import { z } from "zod";
import { apiError, type ApiError } from "./envelope";
import { parseWith } from "./validation";

export type FaultKind = "error-before" | "error-after" | "reset" | "429" | "delay" | "echo";

export interface Fault {
  kind: FaultKind;
  delayMs: number;
  status: number;
}

interface ActiveRule extends Fault {
  method: string | undefined;
  path: string;
  pattern: RegExp;
  mode: string;
  remaining: number;
}

const MODE = /^(error-before|error-after|reset|429|echo|delay:(\d+))$/;

const Rule = z
  .strictObject({
    method: z.string().min(1).optional(),
    path: z.string(),
    mode: z.string().regex(MODE, 'must be "error-before", "error-after", "reset", "429", "echo" or "delay:<ms>"'),
    times: z.number().int().min(1).optional(),
    status: z.number().int().min(400).max(599).optional(),
  })
  .refine((r) => r.status === undefined || r.status >= 500 || r.mode === "echo", {
    message: "must be 500–599 (400–599 for echo)",
    path: ["status"],
  });
const Rules = z.union([Rule, z.array(Rule)]);

export class FaultRules {
  private rules: ActiveRule[] = [];

  /** Validate and add one rule or an array of rules (all or none). */
  add(body: unknown): void {
    const parsed = parseWith(Rules, body, 1001, "{method?, path (regex), mode, times?, status?} or an array of them");
    const rules = (Array.isArray(parsed) ? parsed : [parsed]).map((r): ActiveRule => {
      let pattern: RegExp;
      try {
        pattern = new RegExp(r.path);
      } catch (err) {
        throw apiError(400, 1001, `Invalid path regex ${JSON.stringify(r.path)}: ${(err as Error).message}`);
      }
      const m = MODE.exec(r.mode);
      // The schema already checked `mode` against MODE; this keeps the type honest.
      if (!m) throw apiError(400, 1001, `Invalid mode ${JSON.stringify(r.mode)}`);
      const kind = (m[2] !== undefined ? "delay" : m[1]) as FaultKind;
      return {
        method: r.method?.toUpperCase(),
        path: r.path,
        pattern,
        mode: r.mode,
        kind,
        delayMs: m[2] !== undefined ? Number(m[2]) : 0,
        status: r.status ?? (kind === "echo" ? 400 : 500),
        remaining: r.times ?? 1,
      };
    });
    this.rules.push(...rules);
  }

  clear(): void {
    this.rules = [];
  }

  list(): Array<{ method?: string; path: string; mode: string; remaining: number; status: number }> {
    return this.rules.map((r) => ({ ...(r.method ? { method: r.method } : {}), path: r.path, mode: r.mode, remaining: r.remaining, status: r.status }));
  }

  /** The first rule matching this request, used up by one; undefined when none matches. */
  take(method: string, url: string): Fault | undefined {
    const rule = this.rules.find((r) => (r.method === undefined || r.method === method) && r.pattern.test(url));
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return { kind: rule.kind, delayMs: rule.delayMs, status: rule.status };
  }
}

/** Most of a request body an `echo` fault repeats. */
const ECHO_LIMIT = 4096;

/**
 * The answer of an `echo` fault: a Cloudflare error envelope whose message repeats the request
 * body (its first 4 KiB), nothing applied.
 */
export function echoError(status: number, body: Buffer): ApiError {
  const text = body.toString("utf8");
  const shown = text.length > ECHO_LIMIT ? `${text.slice(0, ECHO_LIMIT)}…` : text;
  return apiError(status, 1001, `Invalid request body (injected fault: nothing was applied): ${shown}`);
}
