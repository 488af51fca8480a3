/**
 * Command line of the engine harness:
 *
 *   npm run engine -- <preview|up|refresh|destroy> <programDir> --stack <name>
 *                     [--config key=value]… [--secret key=value]… [--parallel N]
 *   npm run engine -- config set [--secret] <key> <value> [<programDir>] --stack <name>
 *
 * A program that depends on this package but has no `node_modules/pulumi-cloudflare-secrets-store`
 * is first staged (copied to `.rig/programs/`, with the packed package installed); its state lives in
 * the staged copy and survives between runs. Exits non-zero on any failure.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PACKAGE_NAME, REPO_ROOT, stageProgram } from "../rig/package";
import { setStackConfig } from "./config";
import { passphraseFromEnv } from "./crypto";
import type { Operation } from "./report";
import { runEngine } from "./run";

const OPERATIONS: readonly Operation[] = ["preview", "up", "refresh", "destroy"];

const USAGE = `usage:
  engine <preview|up|refresh|destroy> <programDir> --stack <name> [--config key=value]... [--secret key=value]... [--parallel N]
  engine config set [--secret] <key> <value> [<programDir>] --stack <name>`;

interface Args {
  positional: string[];
  stack?: string;
  config: Record<string, string>;
  secrets: Record<string, string>;
  parallel?: number;
  secret: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { positional: [], config: {}, secrets: {}, secret: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const pair = (target: Record<string, string>) => {
      const v = value();
      const eq = v.indexOf("=");
      if (eq <= 0) throw new Error(`${arg} expects key=value, got ${JSON.stringify(v)}`);
      target[v.slice(0, eq)] = v.slice(eq + 1);
    };
    if (arg === "--stack" || arg === "-s") args.stack = value();
    else if (arg === "--config" || arg === "-c") pair(args.config);
    else if (arg === "--secret" && args.positional[0] !== "config") pair(args.secrets);
    else if (arg === "--secret") args.secret = true;
    else if (arg === "--parallel" || arg === "-p") args.parallel = Number(value());
    else if (arg.startsWith("-")) throw new Error(`unknown flag ${arg}`);
    else args.positional.push(arg);
  }
  if (args.parallel !== undefined && !(Number.isInteger(args.parallel) && args.parallel > 0)) {
    throw new Error("--parallel must be a positive integer");
  }
  return args;
}

/** Stages a program that needs the packed package and lacks it; returns the directory to run. */
function programToRun(sourceDir: string): string {
  const manifest = path.join(sourceDir, "package.json");
  const pkg = fs.existsSync(manifest) ? (JSON.parse(fs.readFileSync(manifest, "utf8")) as Record<string, Record<string, string>>) : {};
  const needsPackage = Boolean(pkg.dependencies?.[PACKAGE_NAME] ?? pkg.devDependencies?.[PACKAGE_NAME]);
  if (!needsPackage || fs.existsSync(path.join(sourceDir, "node_modules", PACKAGE_NAME))) return sourceDir;
  const name = `${path.basename(sourceDir)}-${crypto.createHash("sha256").update(sourceDir).digest("hex").slice(0, 8)}`;
  const staged = stageProgram(sourceDir, { name, keep: true });
  const shown = (p: string) => (p.startsWith(REPO_ROOT + path.sep) ? path.relative(REPO_ROOT, p) : p);
  console.log(`Staged ${shown(sourceDir)} at ${shown(staged)} with the packed ${PACKAGE_NAME} (the stack's state lives there).\n`);
  return staged;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const [command, ...rest] = args.positional;
  if (!args.stack) throw new Error(`--stack is required\n${USAGE}`);
  if (command === "config") {
    const [sub, key, value, dir = "."] = rest;
    if (sub !== "set" || key === undefined || value === undefined) throw new Error(USAGE);
    const passphrase = args.secret ? passphraseFromEnv(process.env) : undefined;
    await setStackConfig(path.resolve(dir), args.stack, key, value, { secret: args.secret, passphrase });
    return 0;
  }
  if (!OPERATIONS.includes(command as Operation) || rest.length !== 1) throw new Error(USAGE);
  const programDir = programToRun(path.resolve(rest[0]));
  const result = await runEngine({
    operation: command as Operation,
    programDir,
    stack: args.stack,
    config: args.config,
    secrets: args.secrets,
    parallel: args.parallel,
    onLine: (line) => console.log(line),
  });
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
