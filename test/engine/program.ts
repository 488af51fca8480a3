/**
 * Launches a Pulumi program the way the Go nodejs language host does: `node <@pulumi/pulumi/cmd/run>`
 * resolved from the program directory, with `--monitor/--engine/--project/--stack/--pwd/--parallel`
 * (and `--dry-run` for a preview), the config in `PULUMI_CONFIG` / `PULUMI_CONFIG_SECRET_KEYS`, and
 * `PULUMI_NODEJS_TYPESCRIPT=true` so the SDK runs TypeScript through its own ts-node.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Project, StackConfig } from "./config";

/** Exit code the SDK uses after it has already reported the error itself. */
const ALREADY_REPORTED = 32;

/** How to launch a program. */
export interface ProgramOptions {
  programDir: string;
  project: Project;
  stack: string;
  config: StackConfig;
  monitorAddress: string;
  dryRun: boolean;
  parallel: number;
  env?: NodeJS.ProcessEnv;
  /** Each line the program prints (stdout and stderr): the engine shows them as the stack's diagnostics. */
  onOutput?: (line: string) => void;
}

/** How the program ended. */
export interface ProgramResult {
  ok: boolean;
  /** An error to report (absent when the SDK already reported it through the engine's Log). */
  error?: string;
}

/** A running program. */
export interface RunningProgram {
  done: Promise<ProgramResult>;
  /** Stops the program (after the deployment has bailed). */
  kill(): void;
}

/** Starts the program; `done` resolves when it exits. */
export function launchProgram(options: ProgramOptions): RunningProgram {
  const { programDir, project, stack, config } = options;
  const runPath = require.resolve("@pulumi/pulumi/cmd/run", { paths: [programDir] });
  const args = [
    runPath,
    "--monitor",
    options.monitorAddress,
    "--engine",
    options.monitorAddress,
    "--organization",
    "organization",
    "--project",
    project.name,
    "--root-directory",
    programDir,
    "--stack",
    stack,
    "--pwd",
    programDir,
    ...(options.dryRun ? ["--dry-run"] : []),
    "--parallel",
    String(options.parallel),
    project.main,
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    PULUMI_CONFIG: JSON.stringify(config.values),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(config.secretKeys),
  };
  if (project.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
  if (project.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = project.tsconfig;
  if (project.nodeargs) env.NODE_OPTIONS = [env.NODE_OPTIONS, project.nodeargs].filter(Boolean).join(" ");

  const child: ChildProcess = spawn(process.execPath, args, { cwd: programDir, env, stdio: ["ignore", "pipe", "pipe"] });
  const emit = (line: string) => options.onOutput?.(line);
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let pending = "";
    stream?.on("data", (d: Buffer) => {
      const lines = (pending + d.toString()).split("\n");
      pending = lines.pop() ?? "";
      lines.forEach(emit);
    });
    stream?.on("end", () => pending && emit(pending));
  };
  collect(child.stdout);
  collect(child.stderr);

  const done = new Promise<ProgramResult>((resolve) => {
    child.once("error", (err) => resolve({ ok: false, error: `could not run the program: ${err.message}` }));
    child.once("close", (code, signal) => {
      if (code === 0) resolve({ ok: true });
      else if (code === ALREADY_REPORTED) resolve({ ok: false });
      else resolve({ ok: false, error: signal ? `Program was stopped (${signal})` : `Program exited with non-zero exit code: ${code}` });
    });
  });
  return { done, kill: () => child.kill("SIGKILL") };
}
