/**
 * The project file (`Pulumi.yaml`) and stack configuration (`Pulumi.<stack>.yaml`), read and written
 * as Pulumi does: keys are namespaced (`<project>:<key>` when no namespace is given), `secure:` values
 * are encrypted with the passphrase provider under the file's `encryptionsalt`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Crypter } from "./crypto";
import { isObject } from "./values";

// js-yaml ships with @pulumi/pulumi and has no bundled types.
const yaml = require("js-yaml") as { load(text: string): unknown; dump(value: unknown, options?: object): string };

/** What the engine needs from `Pulumi.yaml`. */
export interface Project {
  name: string;
  /** The program entry, relative to the project directory (`.` by default). */
  main: string;
  /** `runtime.options.typescript` (default true): run TypeScript through the SDK's ts-node. */
  typescript: boolean;
  /** `runtime.options.nodeargs`, passed in `NODE_OPTIONS`. */
  nodeargs?: string;
  /** `runtime.options.tsconfig`, passed as `PULUMI_NODEJS_TSCONFIG_PATH`. */
  tsconfig?: string;
  /** Project-level config defaults (`config:` in Pulumi.yaml), namespaced. */
  configDefaults: Record<string, string>;
}

/** The stack's configuration as the program and provider receive it: namespaced keys, plaintext values. */
export interface StackConfig {
  values: Record<string, string>;
  secretKeys: string[];
}

/** Command-line config for one run (`--config k=v`, `--secret k=v`): overrides the stack file. */
export interface ConfigOverrides {
  config?: Record<string, string>;
  secrets?: Record<string, string>;
}

/** Reads `Pulumi.yaml` from a program directory. */
export function loadProject(programDir: string): Project {
  const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(programDir, f)).find((f) => fs.existsSync(f));
  if (!file) throw new Error(`no Pulumi.yaml project file found in ${programDir}`);
  const doc = yaml.load(fs.readFileSync(file, "utf8"));
  if (!isObject(doc) || typeof doc.name !== "string") throw new Error(`${file}: missing project name`);
  const runtime = doc.runtime;
  const runtimeName = isObject(runtime) ? runtime.name : runtime;
  if (runtimeName !== "nodejs") throw new Error(`${file}: runtime must be nodejs (got ${String(runtimeName)})`);
  const options = isObject(runtime) && isObject(runtime.options) ? runtime.options : {};
  const configDefaults: Record<string, string> = {};
  if (isObject(doc.config)) {
    for (const [key, spec] of Object.entries(doc.config)) {
      const value = isObject(spec) ? spec.default ?? spec.value : spec;
      if (value !== undefined) configDefaults[namespacedKey(doc.name, key)] = configString(value);
    }
  }
  return {
    name: doc.name,
    main: typeof doc.main === "string" ? doc.main : ".",
    typescript: options.typescript !== false,
    nodeargs: typeof options.nodeargs === "string" ? options.nodeargs : undefined,
    tsconfig: typeof options.tsconfig === "string" ? options.tsconfig : undefined,
    configDefaults,
  };
}

/** `<project>:<key>` unless the key already has a namespace. */
export function namespacedKey(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** The stack config file of a program directory. */
export function stackConfigPath(programDir: string, stack: string): string {
  return path.join(programDir, `Pulumi.${stack}.yaml`);
}

/**
 * Loads the stack's configuration: project defaults, then `Pulumi.<stack>.yaml` (decrypting
 * `secure:` values), then the run's overrides.
 */
export async function loadStackConfig(
  programDir: string,
  project: Project,
  stack: string,
  passphrase: string,
  overrides: ConfigOverrides = {},
): Promise<StackConfig> {
  const values: Record<string, string> = { ...project.configDefaults };
  const secretKeys = new Set<string>();
  const doc = readStackFile(programDir, stack);
  const entries = isObject(doc.config) ? Object.entries(doc.config) : [];
  let crypter: Crypter | undefined;
  for (const [rawKey, value] of entries) {
    const key = namespacedKey(project.name, rawKey);
    if (isObject(value) && typeof value.secure === "string") {
      if (typeof doc.encryptionsalt !== "string") throw new Error(`${stackConfigPath(programDir, stack)}: secure value without encryptionsalt`);
      crypter ??= await Crypter.fromSaltState(passphrase, doc.encryptionsalt);
      values[key] = crypter.decrypt(value.secure);
      secretKeys.add(key);
    } else {
      values[key] = configString(value);
      secretKeys.delete(key);
    }
  }
  for (const [rawKey, value] of Object.entries(overrides.config ?? {})) {
    const key = namespacedKey(project.name, rawKey);
    values[key] = value;
    secretKeys.delete(key);
  }
  for (const [rawKey, value] of Object.entries(overrides.secrets ?? {})) {
    const key = namespacedKey(project.name, rawKey);
    values[key] = value;
    secretKeys.add(key);
  }
  return { values, secretKeys: [...secretKeys].sort() };
}

/** Writes one value into `Pulumi.<stack>.yaml` (`config set [--secret]`), encrypting secrets. */
export async function setStackConfig(
  programDir: string,
  stack: string,
  key: string,
  value: string,
  options: { secret: boolean; passphrase?: string },
): Promise<void> {
  const project = loadProject(programDir);
  const file = stackConfigPath(programDir, stack);
  const doc = readStackFile(programDir, stack);
  const config = isObject(doc.config) ? doc.config : {};
  let stored: unknown = value;
  if (options.secret) {
    if (options.passphrase === undefined) throw new Error("a passphrase is needed to set a secret");
    const crypter =
      typeof doc.encryptionsalt === "string"
        ? await Crypter.fromSaltState(options.passphrase, doc.encryptionsalt)
        : await Crypter.create(options.passphrase);
    doc.encryptionsalt = crypter.saltState;
    stored = { secure: crypter.encrypt(value) };
  }
  config[namespacedKey(project.name, key)] = stored;
  doc.config = config;
  fs.writeFileSync(file, yaml.dump(doc, { lineWidth: -1 }));
}

function readStackFile(programDir: string, stack: string): Record<string, unknown> {
  const file = stackConfigPath(programDir, stack);
  if (!fs.existsSync(file)) return {};
  const doc = yaml.load(fs.readFileSync(file, "utf8"));
  if (doc === undefined || doc === null) return {};
  if (!isObject(doc)) throw new Error(`${file}: expected a mapping`);
  return doc;
}

function configString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
