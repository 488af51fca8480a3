/**
 * What the kill tests need to find, stop and observe the processes of a `pulumi` command (Linux
 * `/proc`), and a gate in front of the emulator that stops a deployment at an exact write.
 *
 * - {@link processTree}: the CLI and everything it started (the language host, the program, the
 *   dynamic provider: a `node` running `@pulumi/pulumi/cmd/dynamic-provider`), read before a kill,
 *   because a killed parent's children are re-parented and can no longer be found from it.
 * - {@link socketOwner}: the process that holds a TCP connection, so a test kills the very provider
 *   process that sent a write (a `pulumi up` may have more than one alive: its preview's and its
 *   update's).
 * - {@link WriteGate}: an HTTP proxy between the provider and the emulator. Armed, it holds the
 *   first request that matches (a write passed on first, so that it landed and only its answer
 *   never reaches the provider, or held unsent) and every write after it. The kill then happens at
 *   a point that does not depend on timing.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** One process, as `/proc/<pid>/stat` and `cmdline` show it. */
export interface Proc {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: with the pid, it names the process even after pid reuse. */
  start: number;
  /** The command line (argv). */
  argv: string[];
}

/** The process `pid`, or undefined when it is gone (or a zombie). */
export function readProc(pid: number): Proc | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (2nd field) is in parentheses and may itself hold spaces or parentheses.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return undefined;
    const argv = fs
      .readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
    return { pid, ppid: Number(rest[1]), start: Number(rest[19]), argv };
  } catch {
    return undefined;
  }
}

/** The children of `pid`, from `/proc/<pid>/task/<tid>/children` (a child is listed under the thread that started it). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ")) if (/^\d+$/.test(c)) out.push(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** `root` and all its descendants, parents before children (empty when `root` is gone). */
export function processTree(root: number): Proc[] {
  const top = readProc(root);
  if (!top) return [];
  const out = [top];
  // `out` grows while it is walked: each process found is visited in turn.
  for (const parent of out) {
    for (const pid of childrenOf(parent.pid)) {
      const p = readProc(pid);
      if (p && !out.some((q) => q.pid === p.pid)) out.push(p);
    }
  }
  return out;
}

/** True while that very process (same pid, same start time) runs. */
export const isAlive = (p: Proc): boolean => readProc(p.pid)?.start === p.start;

/** What a process of a `pulumi` command is, for tables and messages. */
export function roleOf(p: Proc): string {
  const [exe = "", script = ""] = p.argv;
  const base = exe.split("/").pop() ?? "";
  // Only the script node runs counts: `pulumi-resource-pulumi-nodejs` first runs
  // `node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")'`, which is not the provider.
  if (base === "node" && /\/cmd\/dynamic-provider(\/index\.js)?$/.test(script)) return "provider";
  if (base === "node" && /\/cmd\/run(\/index\.js)?$/.test(script)) return "program";
  if (base === "pulumi-language-nodejs") return "language host";
  if (base === "pulumi") return "pulumi";
  return base || String(p.pid);
}

/** The dynamic provider host: a `node` running `@pulumi/pulumi/cmd/dynamic-provider`. */
export const isDynamicProvider = (p: Proc): boolean => roleOf(p) === "provider";

/** SIGKILL, if that very process still runs. */
export function sigkill(p: Proc): boolean {
  if (!isAlive(p)) return false;
  try {
    process.kill(p.pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/** Resolves once none of `procs` runs any more, or after `ms` with those that still do. */
export async function waitGone(procs: Proc[], ms: number): Promise<Proc[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = procs.filter(isAlive);
    if (left.length === 0 || Date.now() >= until) return left;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The inode of the TCP socket whose local end is port `local` and remote end is port `remote` (IPv4 or IPv6). */
function socketInode(local: number, remote: number): string | undefined {
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const [, localAddress, remoteAddress, , , , , , , inode] = f;
      if (localAddress === undefined || remoteAddress === undefined || inode === undefined) continue;
      const port = (addr: string) => parseInt(addr.split(":").pop() ?? "", 16);
      if (port(localAddress) === local && port(remoteAddress) === remote) return inode;
    }
  }
  return undefined;
}

/**
 * The process among `candidates` that holds the client end of a TCP connection (its local port
 * `clientPort`, connected to `serverPort`), or undefined.
 */
export function socketOwner(clientPort: number, serverPort: number, candidates: Proc[]): Proc | undefined {
  const inode = socketInode(clientPort, serverPort);
  if (!inode) return undefined;
  const link = `socket:[${inode}]`;
  for (const p of candidates) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${p.pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${p.pid}/fd/${fd}`) === link) return p;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** Which request a {@link WriteGate} stops at: the first one of this method that `matches` (its path without the query, and its body). */
export interface StopAt {
  method: string;
  matches(path: string, body: string): boolean;
  /** For a write: pass it on (it lands) before holding it, or hold it unsent. A read is never passed on. */
  landed: boolean;
}

/** The request the gate stopped at. */
export interface HeldRequest {
  method: string;
  path: string;
  /** Whether it was passed on to the emulator (and applied there) before it was held. */
  landed: boolean;
  /** The status the emulator answered (never delivered), when it landed. */
  status?: number;
  /** The client's port of the connection it came on (see {@link socketOwner}). */
  clientPort: number;
}

interface Waiting {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

/**
 * A proxy in front of the emulator for the provider's API calls (point the stack's
 * `cloudflare-secrets-store:apiBaseUrl` at {@link url}). Disarmed, it passes everything on. Armed
 * with {@link arm}, it holds the first request that matches, and from then on every write (reads
 * still pass): the deployment stands still at that request until {@link release}.
 */
export class WriteGate {
  private armed?: { stop: StopAt; reached: (r: HeldRequest) => void };
  private frozen = false;
  private readonly held: Waiting[] = [];

  private constructor(
    private readonly server: http.Server,
    private readonly upstream: URL,
  ) {}

  /** Starts a gate in front of `origin` (the emulator's `http://127.0.0.1:PORT`). */
  static async start(origin: string): Promise<WriteGate> {
    const holder: { gate?: WriteGate } = {};
    const server = http.createServer((req, res) => void holder.gate?.handle(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    holder.gate = new WriteGate(server, new URL(origin));
    return holder.gate;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The API base URL to give the provider. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/client/v4`;
  }

  /** Stops at the first request matching `stop`; resolves with it once it is held (and, when it landed, applied). */
  arm(stop: StopAt): Promise<HeldRequest> {
    return new Promise((reached) => {
      this.armed = { stop, reached };
    });
  }

  /** Holds every write from now on (a write already passed on still lands). */
  freeze(): void {
    this.frozen = true;
  }

  /**
   * Back to passing everything on: held requests are dropped (their connections closed: the
   * processes that sent them are gone, or will retry), and nothing is armed any more.
   */
  release(): void {
    this.armed = undefined;
    this.frozen = false;
    for (const w of this.held.splice(0)) w.req.socket.destroy();
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const [path = ""] = (req.url ?? "").split("?");
    const body = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", () => resolve(Buffer.concat(chunks)));
    });
    const isWrite = method !== "GET" && method !== "HEAD";
    if (isWrite && this.frozen) {
      this.held.push({ req, res });
      return;
    }
    const armed = this.armed;
    if (armed && armed.stop.method === method && armed.stop.matches(path, body.toString("utf8"))) {
      this.armed = undefined;
      this.frozen = true;
      this.held.push({ req, res });
      const held: HeldRequest = { method, path, landed: isWrite && armed.stop.landed, clientPort: req.socket.remotePort ?? 0 };
      if (held.landed) {
        // Applied by the emulator; the answer is kept from the provider.
        held.status = (await this.forward(req, method, body).catch(() => undefined))?.status;
      }
      armed.reached(held);
      return;
    }
    try {
      const answer = await this.forward(req, method, body);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch {
      req.socket.destroy();
    }
  }

  private forward(req: http.IncomingMessage, method: string, body: Buffer): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: this.upstream.host };
      delete headers.connection;
      delete headers["keep-alive"];
      headers["content-length"] = String(body.length);
      delete headers["transfer-encoding"];
      const out = http.request({ hostname: this.upstream.hostname, port: this.upstream.port, path: req.url, method, headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          const h: http.OutgoingHttpHeaders = { ...answer.headers };
          delete h.connection;
          delete h["keep-alive"];
          delete h["transfer-encoding"];
          const b = Buffer.concat(chunks);
          h["content-length"] = String(b.length);
          resolve({ status: answer.statusCode ?? 502, headers: h, body: b });
        });
        answer.on("error", reject);
      });
      out.on("error", reject);
      out.end(body);
    });
  }
}
