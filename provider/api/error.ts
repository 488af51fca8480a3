/** One error from Cloudflare's `errors` array. */
export interface CloudflareMessage {
  code: number;
  message: string;
  /** Cloudflare's `error_chain`: the errors that caused this one, outermost first. */
  chain?: CloudflareMessage[];
}

/** `message [code: N]`, then each cause of its `error_chain` (as wrangler's `renderError` shows them). */
export function renderMessage(e: CloudflareMessage): string {
  const causes = (e.chain ?? []).map((c) => ` ← ${renderMessage(c)}`).join("");
  return `${e.message} [code: ${e.code}]${causes}`;
}

/**
 * The one error type of the API client: an HTTP call to Cloudflare that failed.
 *
 * It carries the HTTP status (absent when no response arrived or none was sent), Cloudflare's
 * error codes and messages, the client's own detail after them, the method and the path — never a
 * request body or a header. Cloudflare's messages are kept as sent, so one that echoes a request
 * body is scrubbed where errors leave the provider (`scrubbed` in `runtime/failures.ts`).
 */
export class CloudflareApiError extends Error {
  override readonly name = "CloudflareApiError";

  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status; `undefined` when the connection failed or timed out. */
    readonly status: number | undefined,
    /** Cloudflare's `errors` array (empty when the response was not a Cloudflare envelope). */
    readonly errors: CloudflareMessage[],
    /**
     * True when the request was sent but its outcome is unknown (a timeout, a dropped connection
     * or a 5xx after sending): a create may have been applied, so it must not be re-sent blindly.
     */
    readonly outcomeUnknown: boolean,
    detail?: string,
  ) {
    super(CloudflareApiError.describe(method, path, status, errors, detail));
  }

  /** True when any of Cloudflare's errors has this code or this message prefix. */
  has(codeOrMessage: number | string): boolean {
    return this.errors.some((e) => (typeof codeOrMessage === "number" ? e.code === codeOrMessage : e.message.startsWith(codeOrMessage)));
  }

  get notFound(): boolean {
    return this.status === 404;
  }

  private static describe(method: string, path: string, status: number | undefined, errors: CloudflareMessage[], detail?: string): string {
    const where = `${method} ${path}`;
    const what = [...errors.map(renderMessage), ...(detail ? [detail] : [])].join("; ") || "no Cloudflare error in the response";
    const hint =
      status === 401 || status === 403
        ? " Check the API token: it needs the 'Account Secrets Store Edit' permission to write (binding a secret to a Worker counts as a write; 'Workers Scripts Edit' is needed to change a Worker's bindings)."
        : "";
    return `Cloudflare API ${status ?? "request failed"}: ${what} (${where}).${hint}`;
  }
}

/** The call's result, or `undefined` when Cloudflare answers 404; other errors pass through. */
export async function ignoreNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof CloudflareApiError && err.notFound) return undefined;
    throw err;
  }
}
