/**
 * The WorkerSecretBinding provider: one `secrets_store_secret` binding on a deployed Worker,
 * written through the script's settings with read-merge-write so every other binding survives.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import * as secretsApi from "../api/secrets-store";
import * as workersApi from "../api/workers";
import { ignoreNotFound } from "../api/error";
import { resolveSettings, type Settings } from "./config";
import { accountReplaces, asCheckFailure, GONE } from "./failures";
import { claim, plannedSecret, plannedStoreId } from "./plan";
import { BINDING_NAME, field, isUnknown, secretNameProblem, type CheckFailure } from "./rules";

type Props = Record<string, any>;
type Binding = workersApi.Binding;

/** Worker names: lowercase letters, digits, `-` and `_`, up to 63 characters. */
const SCRIPT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const STORE_BINDING = "secrets_store_secret";

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier change to the same script in this process: the binding list is replaced whole. */
async function withScriptLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (locks.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
  locks.set(key, run);
  try {
    return await run;
  } finally {
    if (locks.get(key) === run) locks.delete(key);
  }
}

/** Another binding sent back so the API keeps it exactly: secret bindings as `{name, type}` (their values stay), the rest as read. */
const keep = (b: Binding): Binding => (b.type === "secret_text" || b.type === "secret_key" ? { name: b.name, type: b.type } : b);

const ourBinding = (p: Props): Binding => ({ type: STORE_BINDING, name: p.bindingName, store_id: p.storeId, secret_name: p.secretName });

const isSame = (b: Binding | undefined, p: Props): boolean =>
  !!b && b.type === STORE_BINDING && b.store_id === p.storeId && b.secret_name === p.secretName;

function describe(b: Binding): string {
  return b.type === STORE_BINDING ? `${b.type} → ${String(b.secret_name)} in store ${String(b.store_id)}` : b.type;
}

const readScript = (settings: Settings, scriptName: string) =>
  ignoreNotFound(workersApi.getScriptSettings(settings.api, settings.accountId, scriptName));

export async function check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  const scriptName = field(news, "scriptName", z.string(), failures, 'the name of a deployed Worker, for example "api-worker"');
  const bindingName = field(news, "bindingName", z.string(), failures, 'a JavaScript identifier, for example "STRIPE_KEY"');
  const storeId = field(news, "storeId", z.string().min(1), failures, "the id of a store, for example `store.id`");
  const secretName = field(news, "secretName", z.string(), failures, "the name of a secret in the store, for example `secret.name`");
  const accountId = field(news, "accountId", z.string().min(1).optional(), failures, "a Cloudflare account id");
  if (scriptName !== undefined && !SCRIPT_NAME.test(scriptName)) {
    failures.push({ property: "scriptName", reason: `\`scriptName\` "${scriptName}" is not a Worker name: use 1–63 lowercase letters, digits, \`-\` or \`_\`, as in your wrangler config's \`name\`.` });
  }
  if (bindingName !== undefined && !BINDING_NAME.test(bindingName)) {
    failures.push({
      property: "bindingName",
      reason: `\`bindingName\` "${bindingName}" is not a JavaScript identifier, so the Worker could not read \`env.${bindingName}\`. Use letters, digits, \`_\` or \`$\`, not starting with a digit, for example "${bindingName.replace(/[^A-Za-z0-9_$]/g, "_").replace(/^(\d)/, "_$1")}".`,
    });
  }
  if (secretName !== undefined) {
    const problem = secretNameProblem("secretName", secretName);
    if (problem) failures.push({ property: "secretName", reason: problem });
  }
  const inputs: Props = { scriptName: news.scriptName, bindingName: news.bindingName, storeId: news.storeId, secretName: news.secretName };
  if (news.accountId !== undefined) inputs.accountId = news.accountId;

  // Parts not known yet at preview (a store or secret created in this deployment) are checked
  // against what this deployment plans for them, or on the next check.
  if (failures.length === 0 && !isUnknown(news.accountId)) {
    try {
      const settings = resolveSettings(accountId);
      if (scriptName !== undefined && bindingName !== undefined) await checkWorker(settings, olds, inputs, failures);
      if (secretName !== undefined) await checkSecret(settings, inputs, storeId ?? plannedStoreId(settings.accountId), failures);
    } catch (err) {
      failures.push(asCheckFailure(err));
    }
  }
  return { inputs, failures };
}

async function checkWorker(settings: Settings, olds: Props, p: Props, failures: CheckFailure[]): Promise<void> {
  const script = await readScript(settings, p.scriptName);
  if (!script) {
    failures.push({
      property: "scriptName",
      reason: `Worker "${p.scriptName}" does not exist in account ${settings.accountId}. Deploy it first (for example with \`wrangler deploy\`); if this program deploys it, pass its name as that resource's output (\`scriptName: script.scriptName\`) so the binding waits for it.`,
    });
    return;
  }
  const existing = script.bindings.find((b) => b.name === p.bindingName);
  const ours = olds.scriptName === p.scriptName && olds.bindingName === p.bindingName;
  if (existing && !ours && !isSame(existing, p)) {
    failures.push({
      property: "bindingName",
      reason: `Worker "${p.scriptName}" already has a binding named "${p.bindingName}" (${describe(existing)}) that this resource does not manage. Choose another \`bindingName\`, or remove that binding from the Worker first.`,
    });
  }
}

async function checkSecret(settings: Settings, p: Props, storeId: string | undefined, failures: CheckFailure[]): Promise<void> {
  const planned = plannedSecret(settings.accountId, storeId, p.secretName);
  let scopes = planned?.scopes;
  if (!planned) {
    if (storeId === undefined) return;
    const live = await secretsApi.findSecretByName(settings.api, settings.accountId, storeId, p.secretName);
    if (!live) {
      failures.push({
        property: "secretName",
        reason: `Secret "${p.secretName}" does not exist in store ${storeId}, and no StoreSecret in this deployment creates it. Create it (a StoreSecret with \`name: "${p.secretName}"\`, passing \`secretName: secret.name\` so it is created first) or fix the name.`,
      });
      return;
    }
    scopes = live.scopes;
  }
  if (scopes && !scopes.includes("workers")) {
    const owner = planned ? ` (set by StoreSecret "${planned.secretLabel}" in this deployment)` : "";
    failures.push({
      property: "secretName",
      reason: `Binding "${p.bindingName}" on Worker "${p.scriptName}" needs secret "${p.secretName}" to have the \`workers\` scope, but its scopes are [${scopes.join(", ")}]${owner}; Cloudflare refuses the binding. Add "workers" to the secret's \`scopes\`.`,
    });
  }
}

export async function diff(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.DiffResult> {
  const replaces = accountReplaces(olds, news);
  if (news.scriptName !== olds.scriptName) replaces.push("scriptName");
  if (news.bindingName !== olds.bindingName) replaces.push("bindingName");
  const changes = replaces.length > 0 || news.storeId !== olds.storeId || news.secretName !== olds.secretName;
  return { changes, replaces, deleteBeforeReplace: false };
}

function outputsOf(p: Props, accountId: string): Props {
  return {
    ...p,
    accountId,
    wranglerConfig: { binding: p.bindingName, store_id: p.storeId, secret_name: p.secretName },
    workersScriptBinding: { type: STORE_BINDING, name: p.bindingName, storeId: p.storeId, secretName: p.secretName },
  };
}

/**
 * Read-merge-write of one binding (`undefined` removes it), serialised per script. Only a
 * `secrets_store_secret` binding of that name is replaced or removed; any other kind is left alone.
 * Returns whether such a binding was there before.
 */
async function writeBinding(settings: Settings, p: Props, next: Binding | undefined): Promise<boolean> {
  return withScriptLock(`${settings.accountId}/${p.scriptName}`, async () => {
    const script = await readScript(settings, p.scriptName);
    if (!script) {
      if (!next) return false; // A Worker already gone has no binding to remove.
      throw new Error(`Worker "${p.scriptName}" does not exist in account ${settings.accountId}; deploy it before binding secrets to it.`);
    }
    const existing = script.bindings.find((b) => b.name === p.bindingName);
    const replaceable = existing?.type === STORE_BINDING;
    if (!next && !replaceable) return false;
    if (next && existing && !replaceable) {
      throw new Error(`Worker "${p.scriptName}" already has a binding named "${p.bindingName}" (${describe(existing)}) that this resource does not manage; nothing was changed.`);
    }
    const bindings = script.bindings.filter((b) => b.name !== p.bindingName).map(keep);
    if (next) bindings.push(next);
    await workersApi.putScriptBindings(settings.api, settings.accountId, p.scriptName, bindings);
    return replaceable;
  });
}

export async function create(inputs: Props): Promise<pulumi.dynamic.CreateResult> {
  const settings = resolveSettings(inputs.accountId);
  const id = `${settings.accountId}/${inputs.scriptName}/${inputs.bindingName}`;
  const existed = await writeBinding(settings, inputs, ourBinding(inputs));
  if (existed) claim("WorkerSecretBinding", id); // the id is fixed: a replacement takes over the binding
  return { id, outs: outputsOf(inputs, settings.accountId) };
}

export async function read(id: string, props: Props): Promise<pulumi.dynamic.ReadResult> {
  const settings = resolveSettings(props.accountId);
  const script = await readScript(settings, props.scriptName);
  const live = script?.bindings.find((b) => b.name === props.bindingName);
  if (!live || live.type !== STORE_BINDING) return GONE;
  return { id, props: outputsOf({ ...props, storeId: live.store_id, secretName: live.secret_name }, settings.accountId) };
}

export async function update(_id: string, olds: Props, news: Props): Promise<pulumi.dynamic.UpdateResult> {
  const settings = resolveSettings(news.accountId ?? olds.accountId);
  await writeBinding(settings, news, ourBinding(news));
  return { outs: outputsOf(news, settings.accountId) };
}

export async function remove(_id: string, props: Props): Promise<void> {
  const settings = resolveSettings(props.accountId);
  await writeBinding(settings, props, undefined);
}
