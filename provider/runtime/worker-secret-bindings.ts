/**
 * The WorkerSecretBindings provider: all the store bindings this program gives one Worker, as one
 * resource (a map of binding name to secret name, like a wrangler config's `secrets_store_secrets`).
 * One step per Worker, so a deployment writes each Worker once (one fresh read, one `PATCH`)
 * whatever `--parallel` is; every other binding of the Worker survives exactly.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import * as view from "./account-view";
import * as usage from "./usage";
import { resolveSettings, type Settings } from "./config";
import { accountReplaces, GONE } from "./failures";
import { claim, plannedStoreId } from "./deployment-memory";
import {
  apiCheckFailure,
  bindingNameProblem,
  bindingTargetOf,
  checkContext,
  checkedSettings,
  definedOnly,
  field,
  isUnknown,
  missingStore,
  secretNameProblem,
  unknownInputs,
  type CheckFailure,
} from "./rules";
import type { WorkerSecretBindingsInputs, WorkerSecretBindingsState } from "../fields/worker-secret-bindings";
import { STORE_BINDING } from "../api/workers";
import { checkSecret, describe, isSame, writeBinding } from "./worker-secret-binding";

/** What a program passes, unchecked: at preview any value may be the engine's unknown sentinel. */
type ProgramInputs = Record<string, unknown>;

/** A WorkerSecretBindings' checked inputs, and its state (declared in ../fields). */
type BindingsInputs = WorkerSecretBindingsInputs;
type BindingsState = WorkerSecretBindingsState;

export async function check(olds: Partial<BindingsState>, news: ProgramInputs): Promise<{ inputs: ProgramInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  unknownInputs("WorkerSecretBindings", news, failures);
  const { scriptName, storeId, accountId } = bindingTargetOf(news, failures);
  const bindings = field(
    news,
    "bindings",
    z.record(z.string(), z.string()),
    failures,
    "a map of binding name to secret name, for example `{ STRIPE_KEY: stripe.name }`",
  );
  for (const [bindingName, secretName] of Object.entries(bindings ?? {})) {
    const bindingProblem = bindingNameProblem(bindingName);
    if (bindingProblem) failures.push({ property: "bindings", reason: `${bindingProblem.replace(/`bindingName`/g, "A key of `bindings`")}` });
    if (!isUnknown(secretName)) {
      const problem = secretNameProblem(`bindings.${bindingName}`, secretName);
      if (problem) failures.push({ property: "bindings", reason: problem });
    }
  }
  const inputs: ProgramInputs = { scriptName: news.scriptName, storeId: news.storeId, bindings: news.bindings };
  if (news.accountId !== undefined) inputs.accountId = news.accountId;

  if (failures.length === 0 && scriptName !== undefined && bindings !== undefined && !isUnknown(news.accountId)) {
    try {
      const settings = checkedSettings(accountId);
      for (const bindingName of Object.keys(bindings)) usage.declare(settings.accountId, scriptName, bindingName);
      await checkWorker(settings, olds, scriptName, storeId, bindings, failures);
      if (storeId !== undefined && olds.storeId !== storeId && (await view.storeSecrets(settings, storeId)) === undefined) {
        failures.push(missingStore(storeId, settings.accountId));
      } else {
        const store = storeId ?? plannedStoreId(settings.accountId);
        for (const [bindingName, secretName] of Object.entries(bindings)) {
          if (!isUnknown(secretName)) await checkSecret(settings, { scriptName, bindingName, secretName }, store, failures);
        }
      }
    } catch (err) {
      failures.push(apiCheckFailure(err, checkContext(accountId, storeId)));
    }
  }
  return { inputs: definedOnly(inputs), failures };
}

/** Each binding name must be free on the Worker, or already ours, or a store binding identical to ours (adopted). */
async function checkWorker(
  settings: Settings,
  olds: Partial<BindingsState>,
  scriptName: string,
  storeId: string | undefined,
  bindings: Record<string, string>,
  failures: CheckFailure[],
): Promise<void> {
  const script = await view.worker(settings, scriptName);
  if (!script) {
    failures.push({
      property: "scriptName",
      reason: `Worker "${scriptName}" does not exist in account ${settings.accountId}. Deploy it first (for example with \`wrangler deploy\`); if this program deploys it, pass its name as that resource's output so the bindings wait for it.`,
    });
    return;
  }
  const ours = olds.scriptName === scriptName ? Object.keys((olds.bindings as Record<string, string> | undefined) ?? {}) : [];
  for (const bindingName of Object.keys(bindings)) {
    const existing = script.bindings.find((b) => b.name === bindingName);
    const identical =
      existing?.type === STORE_BINDING && existing.secret_name === bindings[bindingName] && (storeId === undefined || existing.store_id === storeId);
    if (existing && !ours.includes(bindingName) && !identical) {
      failures.push({
        property: "bindings",
        reason: `Worker "${scriptName}" already has a binding named "${bindingName}" (${describe(existing)}) that this resource does not manage. Choose another name, or remove that binding from the Worker first.`,
      });
    }
  }
}

export async function diff(_id: string, olds: BindingsState, news: BindingsInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = accountReplaces(olds, news);
  if (news.scriptName !== olds.scriptName) replaces.push("scriptName");
  const changes =
    replaces.length > 0 ||
    news.storeId !== olds.storeId ||
    JSON.stringify(sorted(news.bindings)) !== JSON.stringify(sorted(olds.bindings)) ||
    (await drifted(news));
  return { changes, replaces, deleteBeforeReplace: false };
}

/**
 * Whether the Worker lacks one of these bindings as the program wants it (dropped by a deploy, or
 * by an interrupted `pulumi destroy`): then `up` writes them again, without a refresh first. The
 * Worker was read by this deployment's check already, so this costs no request.
 */
async function drifted(p: BindingsInputs): Promise<boolean> {
  if (isUnknown(p.scriptName) || isUnknown(p.storeId) || isUnknown(p.accountId) || Object.values(p.bindings ?? {}).some(isUnknown)) return false;
  const script = await view.worker(resolveSettings(p.accountId), p.scriptName).catch(() => undefined);
  if (!script) return false;
  return sorted(p.bindings).some(
    ([name, secretName]) =>
      !isSame(
        script.bindings.find((x) => x.name === name),
        { storeId: p.storeId, secretName },
      ),
  );
}

const sorted = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));

function outputsOf(p: BindingsInputs, accountId: string): BindingsState {
  const entries = sorted(p.bindings);
  return {
    ...p,
    accountId,
    wranglerConfig: entries.map(([binding, secretName]) => ({ binding, store_id: p.storeId, secret_name: secretName })),
    workersScriptBindings: entries.map(([name, secretName]) => ({ type: STORE_BINDING, name, storeId: p.storeId, secretName })),
  };
}

/** Sets `next`'s bindings and removes those of `previous` that `next` no longer has: one batch for the Worker. */
async function writeAll(
  settings: Settings,
  scriptName: string,
  storeId: string,
  next: Record<string, string>,
  previous: Record<string, string> = {},
): Promise<boolean[]> {
  const sets = Object.entries(next).map(([bindingName, secretName]) =>
    writeBinding(settings, { scriptName, bindingName }, { type: STORE_BINDING, name: bindingName, store_id: storeId, secret_name: secretName }),
  );
  const removals = Object.keys(previous)
    .filter((name) => !(name in next))
    .map((bindingName) => writeBinding(settings, { scriptName, bindingName }, undefined));
  return Promise.all([...sets, ...removals]);
}

export async function create(inputs: BindingsInputs): Promise<pulumi.dynamic.CreateResult<BindingsState>> {
  const settings = resolveSettings(inputs.accountId);
  const id = `${settings.accountId}/${inputs.scriptName}/secrets-store-bindings`;
  const existed = await writeAll(settings, inputs.scriptName, inputs.storeId, inputs.bindings);
  if (existed.some(Boolean)) claim("WorkerSecretBindings", id); // the id is fixed: a replacement takes over the bindings
  return { id, outs: outputsOf(inputs, settings.accountId) };
}

/** Keeps the bindings that are still on the Worker as ours; one that a deploy dropped leaves the map, and the next `up` puts it back. */
export async function read(id: string, props: BindingsState): Promise<pulumi.dynamic.ReadResult<BindingsState> | typeof GONE> {
  const settings = resolveSettings(props.accountId);
  const script = await view.worker(settings, props.scriptName);
  if (!script) return GONE;
  const live: Record<string, string> = {};
  for (const [name] of sorted(props.bindings)) {
    const b = script.bindings.find((x) => x.name === name);
    if (b?.type === STORE_BINDING && b.store_id === props.storeId) live[name] = String(b.secret_name);
  }
  return { id, props: outputsOf({ ...props, bindings: live }, settings.accountId) };
}

export async function update(_id: string, olds: BindingsState, news: BindingsInputs): Promise<pulumi.dynamic.UpdateResult<BindingsState>> {
  const settings = resolveSettings(news.accountId ?? olds.accountId);
  await writeAll(settings, news.scriptName, news.storeId, news.bindings, olds.bindings);
  return { outs: outputsOf(news, settings.accountId) };
}

export async function remove(_id: string, props: BindingsState): Promise<void> {
  const settings = resolveSettings(props.accountId);
  await writeAll(settings, props.scriptName, props.storeId, {}, props.bindings);
}
