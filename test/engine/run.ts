/**
 * One engine operation from start to finish: project, passphrase, stack config and checkpoint are
 * loaded; the operation runs with one dynamic provider host; the display text is produced.
 */
import * as os from "node:os";
import * as path from "node:path";
import { loadProject, loadStackConfig } from "./config";
import { passphraseFromEnv } from "./crypto";
import { runDeployment } from "./deploy";
import { runDestroy } from "./destroy";
import type { Diagnostic } from "./monitor";
import { DynamicProvider } from "./provider";
import { runRefresh } from "./refresh";
import { Report, type Failure, type Operation, type StepRecord } from "./report";
import { StateFile, statePath } from "./state";
import { createUrn, ROOT_STACK_TYPE } from "./urn";
import type { Props } from "./values";

/** Options of {@link runEngine}. */
export interface EngineOptions {
  operation: Operation;
  programDir: string;
  stack: string;
  /** Config for this run only (`--config key=value`); keys without a namespace get `<project>:`. */
  config?: Record<string, string>;
  /** Secret config for this run only (`--secret key=value`). */
  secrets?: Record<string, string>;
  /** Default: `PULUMI_CONFIG_PASSPHRASE` (or `…_FILE`) from `env`, then from the process. */
  passphrase?: string;
  /** Extra environment for the program and the provider host. */
  env?: NodeJS.ProcessEnv;
  /** Maximum concurrent resource operations (default: 4 × CPU cores, as Pulumi). */
  parallel?: number;
  /** Called with each display line as it is produced. */
  onLine?: (line: string) => void;
}

/** What {@link runEngine} did. */
export interface EngineResult {
  ok: boolean;
  steps: StepRecord[];
  /** Stack outputs; secret values stay wrapped (`{4dabf1…: 1b4706…, value}`). */
  outputs: Props;
  failures: Failure[];
  diagnostics: Diagnostic[];
  /** Exactly what the CLI prints. */
  text: string;
  statePath: string;
  durationMs: number;
}

/** Runs `preview`, `up`, `refresh` or `destroy` on a program directory. */
export async function runEngine(options: EngineOptions): Promise<EngineResult> {
  const started = Date.now();
  const programDir = path.resolve(options.programDir);
  const { stack, operation } = options;
  const passphrase = options.passphrase ?? passphraseFromEnv({ ...process.env, ...options.env });
  const project = loadProject(programDir);
  const config = await loadStackConfig(programDir, project, stack, passphrase, options);
  const file = statePath(programDir, stack);
  const state = await StateFile.open(file, passphrase, { project: project.name, stack });
  const parallel = options.parallel ?? 4 * os.cpus().length;
  const report = new Report(operation, stack, options.onLine);
  const provider = new DynamicProvider({ programDir, project: project.name, stack, config, env: options.env });
  const stackUrn = createUrn(stack, project.name, undefined, ROOT_STACK_TYPE, `${project.name}-${stack}`);

  let outputs: Props | undefined;
  try {
    if (operation === "preview" || operation === "up") {
      outputs = await runDeployment({
        programDir,
        project,
        stack,
        config,
        dryRun: operation === "preview",
        parallel,
        env: options.env,
        state,
        provider,
        report,
      });
    } else {
      const run = operation === "refresh" ? runRefresh : runDestroy;
      const left = await run({ state, provider, report, parallel });
      outputs = operation === "refresh" ? left.find((r) => r.urn === stackUrn)?.outputs : undefined;
    }
  } catch (err) {
    report.fail(undefined, err instanceof Error ? err.message : String(err));
  } finally {
    await provider.close();
    await state.flush().catch((err: unknown) => report.fail(undefined, `writing the state failed: ${String(err)}`));
  }
  const durationMs = Date.now() - started;
  const text = report.finish(stackUrn, outputs, durationMs);
  return {
    ok: !report.failed,
    steps: report.steps,
    outputs: outputs ?? {},
    failures: report.failures,
    diagnostics: report.diagnostics,
    text,
    statePath: file,
    durationMs,
  };
}
