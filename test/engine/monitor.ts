/**
 * The gRPC servers a Pulumi program talks to: the ResourceMonitor (resource registrations, stack
 * outputs, invokes, feature probes) and the Engine (logs, root resource), both on one local port,
 * implemented with the service definitions `@pulumi/pulumi` ships. Requests are decoded into plain
 * objects and handed to a {@link MonitorHandler}; everything else answers with a clear error.
 */
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as enginegrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineproto from "@pulumi/pulumi/proto/engine_pb";
import * as resourcegrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as resourceproto from "@pulumi/pulumi/proto/resource_pb";
import type { StackConfig } from "./config";
import type { Props } from "./values";

/** A resource registration as the program sent it. */
export interface Registration {
  type: string;
  name: string;
  parent?: string;
  custom: boolean;
  /** The inputs, with secret wrappers and (in preview) unknown sentinels. */
  object: Props;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  /** Only set when the program set the option. */
  deleteBeforeReplace?: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  protect?: boolean;
  retainOnDelete?: boolean;
  /** An explicit provider reference (empty for the default provider). */
  provider: string;
  aliasUrns: string[];
  importId: string;
  remote: boolean;
}

/** What the engine answers a registration with. */
export interface Registered {
  urn: string;
  /** Empty when not known (a create during preview, or a component). */
  id: string;
  outputs: Props;
}

/** A diagnostic shown under its resource (or the stack) in the display. */
export interface Diagnostic {
  severity: "info" | "warning" | "error";
  message: string;
  urn?: string;
}

/** Implemented by the deployment. */
export interface MonitorHandler {
  registerResource(registration: Registration): Promise<Registered>;
  registerResourceOutputs(urn: string, outputs: Props): Promise<void>;
  log(diagnostic: Diagnostic): void;
}

/** Thrown by a handler once the deployment has stopped: the SDK then stops quietly, as with the real engine. */
export class MonitorTerminating extends Error {
  constructor() {
    super("resource monitor is terminating");
  }
}

/** Facts about the run the program may ask for. */
export interface DeploymentInfo {
  project: string;
  stack: string;
  dryRun: boolean;
  parallel: number;
  config: StackConfig;
}

/** A running monitor: its address serves as both `--monitor` and `--engine`. */
export interface Monitor {
  address: string;
  close(): Promise<void>;
}

type Callback = (error: grpc.ServiceError | Partial<grpc.StatusObject> | null, value?: unknown) => void;
type Unary = (call: grpc.ServerUnaryCall<any, any>, callback: Callback) => void;

/** Starts the ResourceMonitor and Engine servers on a free local port. */
export async function startMonitor(handler: MonitorHandler, info: DeploymentInfo): Promise<Monitor> {
  let rootUrn = "";
  const monitor: Record<string, Unary> = {
    getDeploymentInfo: (_call, cb) => {
      const resp = new resourceproto.DeploymentInfo();
      resp.setProject(info.project);
      resp.setStack(info.stack);
      resp.setOrganization("organization");
      resp.setDryrun(info.dryRun);
      resp.setParallel(info.parallel);
      resp.setConfigsecretkeysList(info.config.secretKeys);
      for (const [k, v] of Object.entries(info.config.values)) resp.getConfigMap().set(k, v);
      resp.setSupportedfeaturesList([resourceproto.ResourceMonitorFeature.RESOURCE_MONITOR_FEATURE_SECRETS]);
      cb(null, resp);
    },
    supportsFeature: (call, cb) => {
      const resp = new resourceproto.SupportsFeatureResponse();
      resp.setHassupport(call.request.getId() === "secrets");
      cb(null, resp);
    },
    invoke: (call, cb) => cb(error(grpc.status.UNKNOWN, `invoke of ${call.request.getTok()} is not supported by the engine harness`)),
    readResource: (call, cb) =>
      cb(
        error(
          grpc.status.UNIMPLEMENTED,
          `reading an existing resource (${call.request.getType()} ${call.request.getName()}) is not supported by the engine harness`,
        ),
      ),
    registerResource: (call, cb) => {
      const registration = decodeRegistration(call.request);
      handler.registerResource(registration).then(
        (done) => {
          const resp = new resourceproto.RegisterResourceResponse();
          resp.setUrn(done.urn);
          resp.setId(done.id);
          resp.setObject(Struct.fromJavaScript(done.outputs as never));
          resp.setResult(resourceproto.Result.SUCCESS);
          cb(null, resp);
        },
        (err: unknown) => cb(toServiceError(err)),
      );
    },
    registerResourceOutputs: (call, cb) => {
      const outputs = (call.request.getOutputs()?.toJavaScript() ?? {}) as Props;
      handler.registerResourceOutputs(call.request.getUrn(), outputs).then(
        () => cb(null, new Empty()),
        (err: unknown) => cb(toServiceError(err)),
      );
    },
    signalAndWaitForShutdown: (_call, cb) => cb(null, new Empty()),
  };
  const engine: Record<string, Unary> = {
    log: (call, cb) => {
      const req = call.request as engineproto.LogRequest;
      const severity = ({ 1: "info", 2: "warning", 3: "error" } as const)[req.getSeverity() as 1 | 2 | 3];
      if (severity && !req.getEphemeral()) handler.log({ severity, message: req.getMessage(), urn: req.getUrn() || undefined });
      cb(null, new Empty());
    },
    getRootResource: (_call, cb) => {
      const resp = new engineproto.GetRootResourceResponse();
      resp.setUrn(rootUrn);
      cb(null, resp);
    },
    setRootResource: (call, cb) => {
      rootUrn = call.request.getUrn();
      cb(null, new engineproto.SetRootResourceResponse());
    },
    requirePulumiVersion: (_call, cb) => cb(null, new engineproto.RequirePulumiVersionResponse()),
  };

  const server = new grpc.Server();
  server.addService(resourcegrpc.ResourceMonitorService, withUnimplemented(resourcegrpc.ResourceMonitorService, monitor));
  server.addService(enginegrpc.EngineService, withUnimplemented(enginegrpc.EngineService, engine));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  };
}

function decodeRegistration(req: resourceproto.RegisterResourceRequest): Registration {
  const propertyDependencies: Record<string, string[]> = {};
  for (const [key, deps] of req.getPropertydependenciesMap().entries()) {
    propertyDependencies[key] = deps.getUrnsList();
  }
  return {
    type: req.getType(),
    name: req.getName(),
    parent: req.getParent() || undefined,
    custom: req.getCustom(),
    object: (req.getObject()?.toJavaScript() ?? {}) as Props,
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    protect: req.hasProtect() ? req.getProtect() : undefined,
    retainOnDelete: req.hasRetainondelete() ? req.getRetainondelete() : undefined,
    provider: req.getProvider(),
    aliasUrns: req.getAliasurnsList(),
    importId: req.getImportid(),
    remote: req.getRemote(),
  };
}

/** Fills every method a handler map lacks with an UNIMPLEMENTED answer naming the method. */
function withUnimplemented(service: grpc.ServiceDefinition, methods: Record<string, Unary>): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(service)) {
    impl[name] =
      methods[name] ??
      ((_call: unknown, cb: Callback) => cb(error(grpc.status.UNIMPLEMENTED, `${def.path} is not supported by the engine harness`)));
  }
  return impl;
}

function error(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof MonitorTerminating) return error(grpc.status.UNAVAILABLE, err.message);
  return error(grpc.status.UNKNOWN, err instanceof Error ? err.message : String(err));
}
