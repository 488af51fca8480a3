/**
 * The WorkerSecretBinding provider: one `secrets_store_secret` binding on a deployed Worker,
 * written through the script's settings with read-merge-write so every other binding survives.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { STORE_BINDING } from "../api/workers";
import { resolveSettings } from "./config";
import { accountReplaces, GONE } from "./failures";
import { claim, rememberedStoreId } from "./deployment-memory";
import * as view from "./account-view";
import * as usage from "./usage";
import { checkSecret, checkWorker, drifted, storeBinding, writeBinding } from "./worker-bindings";
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
import type { WorkerSecretBindingInputs, WorkerSecretBindingState } from "../fields/worker-secret-binding";

/** What a program passes, unchecked: at preview any value may be the engine's unknown sentinel. */
type ProgramInputs = Record<string, unknown>;

/** A WorkerSecretBinding's checked inputs, and its state (declared in ../fields). */
type BindingInputs = WorkerSecretBindingInputs;
type BindingState = WorkerSecretBindingState;

const ourBinding = (p: BindingInputs) => storeBinding(p.bindingName, p.storeId, p.secretName);

export async function check(olds: Partial<BindingState>, news: ProgramInputs): Promise<{ inputs: ProgramInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  unknownInputs("WorkerSecretBinding", news, failures);
  const { scriptName, storeId, accountId } = bindingTargetOf(news, failures);
  const bindingName = field(news, "bindingName", z.string(), failures, 'a JavaScript identifier, for example "STRIPE_KEY"');
  const secretName = field(news, "secretName", z.string(), failures, "the name of a secret in the store, for example `secret.name`");
  const bindingProblem = bindingName === undefined ? undefined : bindingNameProblem(bindingName);
  if (bindingProblem) failures.push({ property: "bindingName", reason: bindingProblem });
  if (secretName !== undefined) {
    const problem = secretNameProblem("secretName", secretName);
    if (problem) failures.push({ property: "secretName", reason: problem });
  }
  const inputs: ProgramInputs = { scriptName: news.scriptName, bindingName: news.bindingName, storeId: news.storeId, secretName: news.secretName };
  if (news.accountId !== undefined) inputs.accountId = news.accountId;

  // Parts not known yet at preview (a store or secret created in this deployment) are checked
  // against what this deployment plans for them, or on the next check.
  if (failures.length === 0 && !isUnknown(news.accountId)) {
    try {
      const settings = checkedSettings(accountId);
      usage.declare(settings.accountId, scriptName, bindingName);
      if (scriptName !== undefined && bindingName !== undefined) {
        const ours = (name: string) => olds.scriptName === scriptName && olds.bindingName === name;
        await checkWorker(settings, scriptName, storeId, { [bindingName]: secretName }, ours, "bindingName", failures);
      }
      const missing = storeId !== undefined && olds.storeId !== storeId && (await view.storeSecrets(settings, storeId)) === undefined;
      if (missing) failures.push(missingStore(storeId, settings.accountId));
      else if (secretName !== undefined) {
        const binding = { scriptName: scriptName ?? "(not known yet)", bindingName: bindingName ?? "(not known yet)", secretName };
        await checkSecret(settings, binding, storeId ?? rememberedStoreId(settings.accountId), failures);
      }
    } catch (err) {
      failures.push(apiCheckFailure(err, checkContext(accountId, storeId)));
    }
  }
  return { inputs: definedOnly(inputs), failures };
}

export async function diff(_id: string, olds: BindingState, news: BindingInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = accountReplaces(olds, news);
  if (news.scriptName !== olds.scriptName) replaces.push("scriptName");
  if (news.bindingName !== olds.bindingName) replaces.push("bindingName");
  const changes = replaces.length > 0 || news.storeId !== olds.storeId || news.secretName !== olds.secretName || (await hasDrifted(news));
  return { changes, replaces, deleteBeforeReplace: false };
}

async function hasDrifted(p: BindingInputs): Promise<boolean> {
  if (isUnknown(p.scriptName) || isUnknown(p.storeId) || isUnknown(p.secretName) || isUnknown(p.accountId)) return false;
  return drifted(resolveSettings(p.accountId), p.scriptName, p.storeId, [[p.bindingName, p.secretName]]);
}

function outputsOf(p: BindingInputs, accountId: string): BindingState {
  return {
    ...p,
    accountId,
    wranglerConfig: { binding: p.bindingName, store_id: p.storeId, secret_name: p.secretName },
    workersScriptBinding: { type: STORE_BINDING, name: p.bindingName, storeId: p.storeId, secretName: p.secretName },
  };
}

export async function create(inputs: BindingInputs): Promise<pulumi.dynamic.CreateResult<BindingState>> {
  const settings = resolveSettings(inputs.accountId);
  const id = `${settings.accountId}/${inputs.scriptName}/${inputs.bindingName}`;
  const existed = await writeBinding(settings, inputs, ourBinding(inputs));
  if (existed) claim("WorkerSecretBinding", id); // the id is fixed: a replacement takes over the binding
  return { id, outs: outputsOf(inputs, settings.accountId) };
}

export async function read(id: string, props: BindingState): Promise<pulumi.dynamic.ReadResult<BindingState> | typeof GONE> {
  const settings = resolveSettings(props.accountId);
  const script = await view.worker(settings, props.scriptName);
  const live = script?.bindings.find((b) => b.name === props.bindingName);
  if (!live || live.type !== STORE_BINDING) return GONE;
  return { id, props: outputsOf({ ...props, storeId: String(live.store_id), secretName: String(live.secret_name) }, settings.accountId) };
}

export async function update(_id: string, olds: BindingState, news: BindingInputs): Promise<pulumi.dynamic.UpdateResult<BindingState>> {
  const settings = resolveSettings(news.accountId ?? olds.accountId);
  await writeBinding(settings, news, ourBinding(news));
  return { outs: outputsOf(news, settings.accountId) };
}

export async function remove(_id: string, props: BindingState): Promise<void> {
  const settings = resolveSettings(props.accountId);
  await writeBinding(settings, props, undefined);
}
