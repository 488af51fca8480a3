/**
 * HTTP over a raw TCP socket, for what fetch hides: a Content-Length that lies, a body sent in
 * chunks that never ends, and whether the server closes the connection after its answer.
 */
import * as net from "node:net";
import type { Json } from "../../tools/emulator-client";

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  /** The parsed JSON body (undefined when it is not JSON). */
  body: Json;
  /** The server closed the connection (FIN or reset) within `closeWithinMs` of its answer. */
  closed: boolean;
}

export interface RawRequest {
  method: string;
  /** Path and query, e.g. `/client/v4/accounts/…`. */
  path: string;
  headers?: Record<string, string>;
  /** Sent right after the head (or after the answer, with `bodyAfterAnswer`). */
  body?: Buffer | string;
  /** Hold the body until the answer has come: a client still sending when the server answers. */
  bodyAfterAnswer?: boolean;
  /** Content-Length to declare (default: the body's length); ignored with `chunks`. */
  contentLength?: number;
  /** Send the body with Transfer-Encoding: chunked, these chunks one after another (no final chunk). */
  chunks?: Buffer[];
  /** Give up waiting for an answer after this long (default 5000 ms). */
  timeoutMs?: number;
  /** How long to wait for the server to close after it answered (default 0: do not wait). */
  closeWithinMs?: number;
  /** Bind the client end to this local address (to come from a non-loopback interface). */
  localAddress?: string;
}

function parse(raw: Buffer): { status: number; headers: Record<string, string>; body: Json } | undefined {
  const end = raw.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  const length = Number(headers["content-length"] ?? NaN);
  const rest = raw.subarray(end + 4);
  if (!Number.isFinite(length) || rest.length < length) return undefined;
  let body: Json;
  try {
    body = JSON.parse(rest.subarray(0, length).toString("utf8"));
  } catch {
    body = undefined;
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

/** Send one request on a fresh connection; resolves with the answer, rejects when none comes. */
export function rawHttp(origin: string, req: RawRequest): Promise<RawReply> {
  const { hostname, port } = new URL(origin);
  const host = hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port), localAddress: req.localAddress });
    let received = Buffer.alloc(0);
    let answer: ReturnType<typeof parse>;
    let closed = false;
    const timer = setTimeout(() => finish(new Error(`no answer to ${req.method} ${req.path} within ${req.timeoutMs ?? 5000} ms`)), req.timeoutMs ?? 5000);
    let closeTimer: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      clearTimeout(timer);
      if (closeTimer) clearTimeout(closeTimer);
      socket.destroy();
      if (answer) resolve({ ...answer, closed });
      else reject(err ?? new Error(`connection closed without an answer to ${req.method} ${req.path}`));
    };
    socket.on("data", (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (answer) return;
      answer = parse(received);
      if (!answer) return;
      if (req.bodyAfterAnswer && req.body !== undefined) socket.write(Buffer.from(req.body));
      if (!req.closeWithinMs) finish();
      else closeTimer = setTimeout(() => finish(), req.closeWithinMs);
    });
    const onClosed = () => {
      closed = true;
      finish();
    };
    socket.on("end", onClosed);
    socket.on("close", onClosed);
    // Writing after the server answered and closed may fail (EPIPE, ECONNRESET): the answer counts.
    socket.on("error", () => onClosed());
    socket.on("connect", () => {
      const body = req.body === undefined ? Buffer.alloc(0) : Buffer.from(req.body);
      const headers: Record<string, string> = { host: `${host}:${port}`, ...req.headers };
      if (req.chunks) headers["transfer-encoding"] = "chunked";
      else headers["content-length"] = String(req.contentLength ?? body.length);
      const headerLines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.write(`${req.method} ${req.path} HTTP/1.1\r\n${headerLines.join("")}\r\n`);
      if (req.chunks) {
        for (const c of req.chunks) {
          socket.write(`${c.length.toString(16)}\r\n`);
          socket.write(c);
          socket.write("\r\n");
        }
      } else if (body.length && !req.bodyAfterAnswer) {
        socket.write(body);
      }
    });
  });
}
