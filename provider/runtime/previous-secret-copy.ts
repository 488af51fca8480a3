/**
 * The PreviousSecretCopy provider: the lifetime of a StoreSecret's previous-value copy.
 *
 * The StoreSecret makes the copy (it must duplicate the live value before writing a new one).
 * This resource, a child of the secret that fallback bindings depend on, only reports the copy
 * and deletes it, so the engine removes a fallback binding first and the copy after it.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { resolveSettings } from "./config";
import { GONE } from "./failures";
import { deleteWhenBoundByConfig } from "./config";
import { claim, isBreakAccepted, rememberedCopy } from "./deployment-memory";
import * as usage from "./usage";
import * as view from "./account-view";
import * as batches from "./secret-batches";
import type { PreviousSecretCopyInputs, PreviousSecretCopyState } from "../fields/previous-secret-copy";
import { accountIdOf, definedOnly, field, secretNameProblem, unknownInputs, validId, type CheckFailure } from "./rules";

/** What a program passes, unchecked: at preview any value may be the engine's unknown sentinel. */
type ProgramInputs = Record<string, unknown>;

/** A PreviousSecretCopy's checked inputs. */
type CopyInputs = PreviousSecretCopyInputs;

/** Its state: the inputs, and the copy's id as found. */
type CopyState = PreviousSecretCopyState;

/**
 * The comment on a previous-value copy. It names the secret and the value version the copy holds,
 * so a retried rotation never copies twice and a secret we did not make is never taken for a copy.
 */
export const copyComment = (name: string, version: number) => `previous value of ${name} (version ${version})`;

/**
 * Whether `comment` marks a copy of one of `names`. Only its start is compared, so copies an
 * earlier build made (`previous value of <name> (kept by rotation to version <n>)`) count too.
 */
export const isCopyOf = (comment: string, names: string[]) => names.some((n) => comment.startsWith(`previous value of ${n} (`));

/**
 * The name of the copy holding `version`: each copy has its own name, so a rotation makes the new
 * copy, moves the fallback bindings to it and only then deletes the old one, and a Worker's
 * fallback never points at nothing.
 */
export const copyNameFor = (base: string, version: number) => `${base}_v${version}`;

export async function check(_olds: Partial<CopyState>, news: ProgramInputs): Promise<{ inputs: ProgramInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  unknownInputs("PreviousSecretCopy", news, failures);
  validId(field(news, "storeId", z.string(), failures, "a store id (`secret.storeId`)"), "storeId", "a store id", "`secret.storeId`", failures);
  validId(field(news, "secretId", z.string(), failures, "a secret id (`secret.id`)"), "secretId", "a secret id", "`secret.id`", failures);
  const previousName = field(news, "previousName", z.string(), failures, 'the copy\'s name, for example "stripe_api_key_previous"');
  const nameProblem = previousName === undefined ? undefined : secretNameProblem("previousName", previousName);
  if (nameProblem) failures.push({ property: "previousName", reason: nameProblem });
  field(news, "deleteWhenBound", z.boolean().optional(), failures, "true or false");
  accountIdOf(news, failures);
  return { inputs: definedOnly(news), failures };
}

export async function diff(_id: string, olds: CopyState, news: CopyInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = (["storeId", "previousName", "accountId"] as const).filter((k) => news[k] !== undefined && news[k] !== olds[k]);
  const changes = replaces.length > 0 || news.secretId !== olds.secretId || news.valueVersion !== olds.valueVersion;
  return { changes, replaces, deleteBeforeReplace: false };
}

async function report(inputs: CopyInputs): Promise<CopyState | undefined> {
  const settings = resolveSettings(inputs.accountId);
  const copy = await view.findSecret(settings, inputs.storeId, inputs.previousName);
  return copy && { ...inputs, accountId: settings.accountId, previousId: copy.id };
}

async function reportOrFail(inputs: CopyInputs): Promise<CopyState> {
  const outs = await report(inputs);
  if (!outs)
    throw new Error(
      `The previous-value copy "${inputs.previousName}" is missing. Run \`pulumi refresh\` (so its StoreSecret notices), then \`pulumi up\`, which makes it again.`,
    );
  return outs;
}

export async function create(inputs: CopyInputs): Promise<pulumi.dynamic.CreateResult<CopyState>> {
  const outs = await reportOrFail(inputs);
  const id = `${outs.accountId}/${inputs.storeId}/${inputs.previousName}`;
  claim("PreviousSecretCopy", id); // the StoreSecret made the copy; this resource only reports it
  return { id, outs };
}

export async function read(id: string, props: CopyState): Promise<pulumi.dynamic.ReadResult<CopyState> | typeof GONE> {
  const outs = await report(props);
  return outs ? { id, props: outs } : GONE;
}

export async function update(_id: string, _olds: CopyState, news: CopyInputs): Promise<pulumi.dynamic.UpdateResult<CopyState>> {
  return { outs: await reportOrFail(news) };
}

/**
 * Deletes the secret's copies that it no longer keeps: every copy of the secret in the store (found
 * by its comment, so a copy a rotation run alone with `pulumi up --target` made is found too) but
 * the one its StoreSecret keeps after this deployment. A copy that a Worker still binds is kept,
 * and the delete fails naming the Worker, unless `deleteWhenBound`.
 */
export async function remove(_id: string, props: CopyState): Promise<void> {
  const settings = resolveSettings(props.accountId);
  const kept = rememberedCopy(settings.accountId, props.storeId, props.secretName);
  const copies = ((await view.storeSecrets(settings, props.storeId)) ?? []).filter(
    (s) => (s.id === props.previousId || isCopyOf(s.comment, [props.secretName])) && !(kept.known && s.name === kept.copyName),
  );
  const accepted = (name: string) => props.deleteWhenBound === true || deleteWhenBoundByConfig() || isBreakAccepted(settings.accountId, props.storeId, name);
  const guard = (name: string): batches.DeleteGuard => ({
    name,
    refuse: (uses) =>
      new Error(
        usage.refusal(
          settings,
          `delete "${name}", a previous-value copy of secret "${props.secretName}" in store ${props.storeId}`,
          uses,
          usage.DELETE_WHEN_BOUND,
        ),
      ),
  });
  await Promise.all(copies.map((copy) => batches.deleteSecret(settings, props.storeId, copy.id, accepted(copy.name) ? undefined : guard(copy.name))));
}
