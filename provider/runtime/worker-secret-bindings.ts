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
import { claim, rememberedStoreId } from "./deployment-memory";
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
import { checkSecret, checkWorker, drifted, storeBinding, writeBinding } from "./worker-bindings";

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
      const ours = (name: string) => olds.scriptName === scriptName && name in ((olds.bindings as Record<string, string> | undefined) ?? {});
      await checkWorker(settings, scriptName, storeId, bindings, ours, "bindings", failures);
      if (storeId !== undefined && olds.storeId !== storeId && (await view.storeSecrets(settings, storeId)) === undefined) {
        failures.push(missingStore(storeId, settings.accountId));
      } else {
        const store = storeId ?? rememberedStoreId(settings.accountId);
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

export async function diff(_id: string, olds: BindingsState, news: BindingsInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = accountReplaces(olds, news);
  if (news.scriptName !== olds.scriptName) replaces.push("scriptName");
  const changes =
    replaces.length > 0 ||
    news.storeId !== olds.storeId ||
    JSON.stringify(sorted(news.bindings)) !== JSON.stringify(sorted(olds.bindings)) ||
    (await hasDrifted(news));
  return { changes, replaces, deleteBeforeReplace: false };
}

async function hasDrifted(p: BindingsInputs): Promise<boolean> {
  if (isUnknown(p.scriptName) || isUnknown(p.storeId) || isUnknown(p.accountId) || Object.values(p.bindings ?? {}).some(isUnknown)) return false;
  return drifted(resolveSettings(p.accountId), p.scriptName, p.storeId, sorted(p.bindings));
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
    writeBinding(settings, { scriptName, bindingName }, storeBinding(bindingName, storeId, secretName)),
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
