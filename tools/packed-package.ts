/**
 * Packs this repository with `npm pack` and stages Pulumi program directories that use the packed
 * package, so tests and the demo run exactly what users install, never the local sources.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const PACKAGE_NAME = "pulumi-cloudflare-secrets-store";
const RIG_DIR = path.join(REPO_ROOT, ".rig");

/**
 * The packed package (`npm pack` of the built repo). Packed once: the path is kept in
 * `RIG_PACKAGE_TGZ` so every test process of one run shares it. Run `npm run build` first.
 */
export function packedPackage(): string {
  const known = process.env.RIG_PACKAGE_TGZ;
  if (known && fs.existsSync(known)) return known;
  // Packed fresh: a tarball left from an earlier build could be stale.
  if (!fs.existsSync(path.join(REPO_ROOT, "dist/provider/index.js"))) {
    throw new Error("dist/ is missing: run `npm run build` before packing the package");
  }
  const dest = path.join(RIG_DIR, "pack");
  fs.mkdirSync(dest, { recursive: true });
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [info] = JSON.parse(out) as Array<{ filename: string }>;
  if (!info) throw new Error(`npm pack named no tarball: ${out}`);
  const tgz = path.join(dest, info.filename);
  process.env.RIG_PACKAGE_TGZ = tgz;
  return tgz;
}

/** Extracts the packed package into `<programDir>/node_modules/pulumi-cloudflare-secrets-store`. */
export function installPackedPackage(programDir: string, tgz = packedPackage()): void {
  const target = path.join(programDir, "node_modules", PACKAGE_NAME);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  execFileSync("tar", ["-xzf", tgz, "-C", target, "--strip-components=1"]);
}

export interface StageOptions {
  /** Directory name under `.rig/programs/`; default: the source folder's name plus a random suffix. */
  name?: string;
  /** Keep an already staged directory (and its state files) and only refresh the program's files. */
  keep?: boolean;
}

/**
 * Copies a Pulumi program directory (`Pulumi.yaml`, `index.ts`, …, without `node_modules`) to
 * `.rig/programs/<name>` and installs the packed package into it. The staged directory sits inside
 * the repository, so `@pulumi/pulumi` and the package's own dependencies resolve from the
 * repository's `node_modules`, as they would from a program's own `node_modules`.
 */
export function stageProgram(sourceDir: string, options: StageOptions = {}): string {
  const name = options.name ?? `${path.basename(sourceDir)}-${crypto.randomBytes(4).toString("hex")}`;
  const programDir = path.join(RIG_DIR, "programs", name);
  if (!options.keep) fs.rmSync(programDir, { recursive: true, force: true });
  fs.mkdirSync(programDir, { recursive: true });
  for (const entry of fs.readdirSync(sourceDir)) {
    if (entry === "node_modules" || entry.startsWith(".pulumi")) continue;
    fs.cpSync(path.join(sourceDir, entry), path.join(programDir, entry), { recursive: true });
  }
  installPackedPackage(programDir);
  return programDir;
}
