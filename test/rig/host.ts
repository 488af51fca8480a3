/**
 * Drives the real dynamic provider host that `@pulumi/pulumi` ships
 * (`@pulumi/pulumi/cmd/dynamic-provider`) over its gRPC protocol, the way the Pulumi engine does.
 *
 * Each RPC here is build-request, call, convert-response; nothing is simulated. The engine talks
 * to a provider that answers Configure with `acceptSecrets: false`, so CRUD structs carry plain
 * values; only Configure carries secret-wrapped config values, as the engine sends them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { Struct, type JavaScriptValue } from "google-protobuf/google/protobuf/struct_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/provider_pb";
import { Status } from "@pulumi/pulumi/proto/status_pb";

/** The unknown-value sentinel the engine puts in inputs during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Signature key/value that marks a secret on the Pulumi wire. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Props = Record<string, unknown>;

export interface CheckFailure {
  property: string;
  reason: string;
}
export interface DiffResult {
  changes: "none" | "some" | "unknown";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** A failed RPC: gRPC status plus, for a partial create/update, what the provider reported. */
export class HostCallError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly initFailed?: { id: string; properties: Props; reasons: string[] },
  ) {
    super(message);
  }
}

export interface StartHostOptions {
  /** The Pulumi program directory: its node_modules resolve the serialized provider's requires. */
  cwd: string;
  /** The Pulumi project name (`PULUMI_NODEJS_PROJECT`). */
  project: string;
  /** Extra environment for the host process. */
  env?: NodeJS.ProcessEnv;
}

/** Properties as a protobuf Struct, the way the engine sends them. */
const toStruct = (props: Props): Struct => Struct.fromJavaScript(props as Record<string, JavaScriptValue>);

/** A reply callback of the generated gRPC client. */
type Reply<T> = (err: grpc.ServiceError | null, resp: T) => void;

export class ProviderHost {
  private output = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly client: ResourceProviderClient,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
  }

  /** Everything the host process printed (stdout and stderr): the engine shows it as logs. */
  get logs(): string {
    return this.output;
  }

  static async start(options: StartHostOptions): Promise<ProviderHost> {
    const hostMain = require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [options.cwd, __dirname] });
    const child = spawn(process.execPath, [hostMain, "127.0.0.1:0"], {
      cwd: options.cwd,
      env: {
        ...process.env,
        PULUMI_NODEJS_PROJECT: options.project,
        PULUMI_NODEJS_STACK: process.env.PULUMI_NODEJS_STACK ?? "test",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buf = "";
      let err = "";
      const onData = (d: Buffer) => {
        buf += d.toString();
        const newline = buf.indexOf("\n");
        const line = newline === -1 ? "" : buf.slice(0, newline).trim();
        if (/^\d+$/.test(line)) {
          child.stdout.off("data", onData);
          resolve(Number(line));
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.once("exit", (code) => reject(new Error(`dynamic provider host exited (${code}): ${err}`)));
    });
    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new ProviderHost(child, client);
  }

  /** One unary RPC: `send` makes the call with the reply callback it is given. */
  private call<T>(method: string, send: (reply: Reply<T>) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      send((err, resp) => {
        if (err) reject(this.toError(method, err));
        else resolve(resp);
      });
    });
  }

  private toError(method: string, err: grpc.ServiceError): HostCallError {
    const bin = err.metadata?.get("grpc-status-details-bin")?.[0];
    let initFailed: HostCallError["initFailed"];
    if (bin) {
      const status = Status.deserializeBinary(bin as Buffer);
      for (const detail of status.getDetailsList()) {
        if (detail.getTypeName() === "pulumirpc.ErrorResourceInitFailed") {
          const d = proto.ErrorResourceInitFailed.deserializeBinary(detail.getValue_asU8());
          initFailed = {
            id: d.getId(),
            properties: d.getProperties()?.toJavaScript() ?? {},
            reasons: d.getReasonsList(),
          };
        }
      }
    }
    return new HostCallError(`${method}: ${err.details || err.message}`, err.code, initFailed);
  }

  /** Configure with the whole stack config, keys namespaced (`cloudflare:apiToken`); `secretKeys` go secret-wrapped. */
  async configure(config: Record<string, string>, secretKeys: string[] = []): Promise<void> {
    const args: Props = {};
    for (const [k, v] of Object.entries(config)) {
      args[k] = secretKeys.includes(k) ? { [SECRET_SIG_KEY]: SECRET_SIG, value: v } : v;
    }
    const req = new proto.ConfigureRequest();
    req.setArgs(toStruct(args));
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    const vars = req.getVariablesMap();
    for (const [k, v] of Object.entries(config)) vars.set(k, v);
    await this.call("configure", (reply) => this.client.configure(req, reply));
  }

  async check(urn: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const req = new proto.CheckRequest();
    req.setUrn(urn);
    req.setOlds(toStruct(olds));
    req.setNews(toStruct(news));
    const resp = await this.call<proto.CheckResponse>("check", (reply) => this.client.check(req, reply));
    return {
      inputs: resp.getInputs()?.toJavaScript() ?? {},
      failures: resp.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(id: string, urn: string, olds: Props, news: Props): Promise<DiffResult> {
    const req = new proto.DiffRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setOlds(toStruct(olds));
    req.setNews(toStruct(news));
    const resp = await this.call<proto.DiffResponse>("diff", (reply) => this.client.diff(req, reply));
    const kinds = proto.DiffResponse.DiffChanges;
    const c = resp.getChanges();
    return {
      changes: c === kinds.DIFF_SOME ? "some" : c === kinds.DIFF_NONE ? "none" : "unknown",
      replaces: resp.getReplacesList(),
      deleteBeforeReplace: resp.getDeletebeforereplace(),
    };
  }

  async create(urn: string, properties: Props): Promise<{ id: string; properties: Props }> {
    const req = new proto.CreateRequest();
    req.setUrn(urn);
    req.setProperties(toStruct(properties));
    const resp = await this.call<proto.CreateResponse>("create", (reply) => this.client.create(req, reply));
    return { id: resp.getId(), properties: resp.getProperties()?.toJavaScript() ?? {} };
  }

  async read(id: string, urn: string, properties: Props, inputs?: Props): Promise<{ id: string; properties: Props; inputs?: Props }> {
    const req = new proto.ReadRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(toStruct(properties));
    if (inputs) req.setInputs(toStruct(inputs));
    const resp = await this.call<proto.ReadResponse>("read", (reply) => this.client.read(req, reply));
    return {
      id: resp.getId(),
      properties: resp.getProperties()?.toJavaScript() ?? {},
      inputs: resp.getInputs()?.toJavaScript(),
    };
  }

  async update(id: string, urn: string, olds: Props, news: Props): Promise<{ properties: Props }> {
    const req = new proto.UpdateRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setOlds(toStruct(olds));
    req.setNews(toStruct(news));
    const resp = await this.call<proto.UpdateResponse>("update", (reply) => this.client.update(req, reply));
    return { properties: resp.getProperties()?.toJavaScript() ?? {} };
  }

  async delete(id: string, urn: string, properties: Props): Promise<void> {
    const req = new proto.DeleteRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setProperties(toStruct(properties));
    await this.call("delete", (reply) => this.client.delete(req, reply));
  }

  async close(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      await exited;
    }
  }
}
