/** The value check of a StoreSecret: `value` or `valueFrom` to a fingerprint, and whether it changed. */
import { accountIdFor } from "./config";
import { isUnknown, typeName, UNKNOWN, valueSizeProblem, type CheckFailure } from "./rules";
import { versionOf } from "./secret-rotation-plan";
import { isFingerprint, matches, remember, VALUE_FROM_MARKER } from "./values";
import type { StoreSecretState } from "../fields/store-secret";

type SecretState = StoreSecretState;
type ProgramInputs = Record<string, unknown>;

/** What {@link checkValue} needs besides the raw inputs. */
export interface ValueContext {
  name?: string;
  accountId?: string;
  duplicateOf?: unknown;
  valueFrom?: { env: string };
  allowLargeValue: boolean;
}

/**
 * The checked `value`: the fingerprint of the plaintext from `value` or `valueFrom`, whose
 * plaintext stays in this process for create/update; UNKNOWN at preview when not known yet;
 * undefined with `duplicateOf` or `adopt`. Never the plaintext. `changed`: it is not the value
 * the state fingerprinted (a fingerprint of the first format that matches is moved to the current
 * format, unchanged).
 */
export async function checkValue(
  olds: Partial<SecretState>,
  news: ProgramInputs,
  inputs: ProgramInputs,
  ctx: ValueContext,
  failures: CheckFailure[],
): Promise<{ value?: string; changed: boolean }> {
  const none = { changed: false };
  // With `valueFrom` the program sends a secret placeholder, so the engine keeps `value` secret.
  let raw: unknown = news.value === VALUE_FROM_MARKER && ctx.valueFrom ? undefined : news.value;
  if (raw !== undefined && ctx.valueFrom) {
    failures.push({ property: "valueFrom", reason: "Set either `value` or `valueFrom`, not both." });
    return none;
  }
  if (ctx.valueFrom) {
    raw = process.env[ctx.valueFrom.env];
    if (raw === undefined || raw === "") {
      failures.push({
        property: "valueFrom",
        reason: `\`valueFrom.env\`: the environment variable ${ctx.valueFrom.env} is not set where \`pulumi\` runs. Set it before \`pulumi preview\` and \`pulumi up\` (in CI, from the job's secret store, e.g. \`env: ${ctx.valueFrom.env}: \${{ secrets.${ctx.valueFrom.env} }}\`).`,
      });
      return none;
    }
  }
  if (raw !== undefined && ctx.duplicateOf) {
    const from = ctx.valueFrom ? "valueFrom" : "value";
    failures.push({
      property: from,
      reason: `Set either \`${from}\` or \`duplicateOf\`, not both: a duplicate takes its value from the source secret. Remove one of them.`,
    });
    return none;
  }
  if (raw === undefined) {
    if (!ctx.duplicateOf && !inputs.adopt && !isUnknown(news.duplicateOf)) {
      failures.push({
        property: "value",
        reason:
          '`value` is required. Pass it from secret config (`value: cfg.requireSecret("stripeKey")`) or from the environment (`valueFrom: { env: "STRIPE_KEY" }`); or use `duplicateOf` to copy another secret, or `adopt: true` to keep an existing secret\'s value.',
      });
    }
    return none;
  }
  if (isUnknown(raw)) return { value: UNKNOWN, changed: false };
  if (typeof raw !== "string") {
    failures.push({
      property: "value",
      reason: `\`value\` must be a string, not ${typeName(raw)}. Pass the secret's value as text (for example \`cfg.requireSecret("stripeKey")\`).`,
    });
    return none;
  }
  if (isFingerprint(raw)) {
    // `ignoreChanges: ["value"]`: the engine hands back the fingerprint this check stored.
    if (raw === olds.value) return { value: raw, changed: false };
    failures.push({
      property: "value",
      reason:
        '`value` holds a fingerprint from the Pulumi state, not a secret value. With `ignoreChanges: ["value"]` the engine passes the stored fingerprint when the secret has to be created again (a replacement or a new stack): remove `value` from `ignoreChanges` for that run, so the value from the program is written.',
    });
    return none;
  }
  const problem = isUnknown(news.allowLargeValue) ? undefined : valueSizeProblem(raw, ctx.allowLargeValue);
  if (problem) {
    failures.push({ property: ctx.valueFrom ? "valueFrom" : "value", reason: problem });
    return none;
  }
  const account = accountIdFor(ctx.accountId);
  if (ctx.name === undefined || account === undefined) return { value: UNKNOWN, changed: false };
  const oldVersion = versionOf(olds);
  const sameSecret = olds.name === ctx.name && accountIdFor(olds.accountId) === account;
  const unchanged = sameSecret && isFingerprint(olds.value) && matches(olds.value, { accountId: account, name: ctx.name, version: oldVersion }, raw);
  if (unchanged) return { value: remember({ accountId: account, name: ctx.name, version: oldVersion }, raw, olds.value), changed: false };
  const version = olds.name === undefined ? 1 : oldVersion + 1;
  return { value: remember({ accountId: account, name: ctx.name, version }, raw), changed: true };
}
