/**
 * The engine's side of the dynamic provider: one real provider host process per run (every dynamic
 * resource uses the default `pulumi-nodejs` provider), started on first use and Configure'd once with
 * the whole stack config before any other call. Values cross the wire the way the Go engine sends
 * them to a provider that does not accept secrets: secrets stripped going in, and secretness copied
 * back onto results from the inputs of the same name.
 */
import { HostCallError, ProviderHost, type CheckFailure, type DiffResult } from "../rig/host";
import type { StackConfig } from "./config";
import { annotateSecrets, stripSecrets, type Props } from "./values";

export type { CheckFailure, DiffResult };

/** A create or update that the provider reported as partially done: the resource exists with these outputs. */
export class PartialFailure extends Error {
  constructor(
    message: string,
    readonly id: string,
    readonly outputs: Props,
    readonly reasons: string[],
  ) {
    super(message);
  }
}

/** Where and with what configuration the provider host runs. */
export interface DynamicProviderOptions {
  programDir: string;
  project: string;
  stack: string;
  config: StackConfig;
  /** Extra environment for the host process. */
  env?: NodeJS.ProcessEnv;
}

/** The default dynamic provider of a deployment. */
export class DynamicProvider {
  private host?: Promise<ProviderHost>;

  constructor(private readonly options: DynamicProviderOptions) {}

  /** Starts and configures the host now (it is otherwise started by the first call). */
  warmUp(): void {
    void this.started().catch(() => undefined);
  }

  /** What the host process printed (the engine keeps it out of the display). */
  async logs(): Promise<string> {
    return this.host ? (await this.host.catch(() => undefined))?.logs ?? "" : "";
  }

  /** `check(olds, news)`: the checked inputs carry the secretness of `news`. */
  async check(urn: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const host = await this.started();
    const result = await call(() => host.check(urn, stripSecrets(olds), stripSecrets(news)));
    return { inputs: annotateSecrets(result.inputs, news), failures: result.failures };
  }

  /** `diff(id, old outputs, new checked inputs)`. */
  async diff(urn: string, id: string, oldOutputs: Props, newInputs: Props): Promise<DiffResult> {
    const host = await this.started();
    return call(() => host.diff(id, urn, stripSecrets(oldOutputs), stripSecrets(newInputs)));
  }

  /** `create(inputs)`; a partial creation throws {@link PartialFailure}. */
  async create(urn: string, inputs: Props): Promise<{ id: string; outputs: Props }> {
    const host = await this.started();
    const result = await call(() => host.create(urn, stripSecrets(inputs)), inputs);
    return { id: result.id, outputs: annotateSecrets(result.properties, inputs) };
  }

  /** `update(id, old outputs, new inputs)`; a partial update throws {@link PartialFailure}. */
  async update(urn: string, id: string, oldOutputs: Props, newInputs: Props): Promise<{ outputs: Props }> {
    const host = await this.started();
    const result = await call(() => host.update(id, urn, stripSecrets(oldOutputs), stripSecrets(newInputs)), newInputs);
    return { outputs: annotateSecrets(result.properties, newInputs) };
  }

  /** `read(id, outputs, inputs)` for refresh; an empty id means the resource is gone. */
  async read(urn: string, id: string, outputs: Props, inputs: Props): Promise<{ id: string; outputs: Props; inputs?: Props }> {
    const host = await this.started();
    const result = await call(() => host.read(id, urn, stripSecrets(outputs), stripSecrets(inputs)));
    return {
      id: result.id,
      outputs: annotateSecrets(result.properties, outputs),
      inputs: result.inputs ? annotateSecrets(result.inputs, inputs) : undefined,
    };
  }

  /** `delete(id, outputs)`. */
  async delete(urn: string, id: string, outputs: Props): Promise<void> {
    const host = await this.started();
    await call(() => host.delete(id, urn, stripSecrets(outputs)));
  }

  /** Stops the host process if it was started. */
  async close(): Promise<void> {
    const host = await this.host?.catch(() => undefined);
    await host?.close();
  }

  private started(): Promise<ProviderHost> {
    this.host ??= (async () => {
      const { programDir, project, stack, config, env } = this.options;
      const host = await ProviderHost.start({ cwd: programDir, project, env: { ...env, PULUMI_NODEJS_STACK: stack } });
      try {
        await host.configure(config.values, config.secretKeys);
      } catch (err) {
        await host.close();
        throw err;
      }
      return host;
    })();
    return this.host;
  }
}

/** Runs a host call, turning its errors into plain messages (and partial failures into {@link PartialFailure}). */
async function call<T>(fn: () => Promise<T>, secretsFrom?: Props): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof HostCallError)) throw err;
    const message = err.message.replace(/^(configure|check|diff|create|read|update|delete): /, "");
    if (err.initFailed) {
      const { id, properties, reasons } = err.initFailed;
      throw new PartialFailure(message, id, secretsFrom ? annotateSecrets(properties, secretsFrom) : properties, reasons);
    }
    throw new Error(message);
  }
}

/** The message of a failed operation (a partial failure lists its reasons). */
export function failureMessage(err: unknown): string {
  if (err instanceof PartialFailure && err.reasons.length > 0) {
    return `${err.message}\n${err.reasons.map((r) => `  * ${r}`).join("\n")}`;
  }
  return err instanceof Error ? err.message : String(err);
}
