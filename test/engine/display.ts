/**
 * Text in the style of Pulumi's non-interactive display: a header, one line per step with the
 * changed properties under it, diagnostics grouped by resource, stack outputs and the summary.
 * Secret values never reach this module unmasked (see `renderValue`).
 */
import type { Diagnostic } from "./monitor";
import type { Operation, StepOp, StepRecord } from "./report";
import { urnName, urnType } from "./urn";
import { renderValue, type Props } from "./values";

const SYMBOLS: Record<StepOp, string> = {
  same: "   ",
  create: " + ",
  update: " ~ ",
  replace: " +-",
  delete: " - ",
  "delete-replaced": " --",
};

const PREVIEW_VERBS: Record<StepOp, string> = {
  same: "same",
  create: "create",
  update: "update",
  replace: "replace",
  delete: "delete",
  "delete-replaced": "delete original",
};

const DONE_VERBS: Record<StepOp, string> = {
  same: "same",
  create: "created",
  update: "updated",
  replace: "replaced",
  delete: "deleted",
  "delete-replaced": "deleted original",
};

const FAILED_VERBS: Record<StepOp, string> = {
  same: "failed",
  create: "**creating failed**",
  update: "**updating failed**",
  replace: "**replacing failed**",
  delete: "**deleting failed**",
  "delete-replaced": "**deleting original failed**",
};

/** The first line of an operation's output. */
export function header(operation: Operation, stack: string): string {
  const title = { preview: "Previewing update", up: "Updating", refresh: "Refreshing", destroy: "Destroying" }[operation];
  return `${title} (${stack}):`;
}

/** A step line and the property lines under it. */
export function formatStep(operation: Operation, step: StepRecord): string[] {
  const verb = step.failed ? FAILED_VERBS[step.op] : operation === "preview" ? PREVIEW_VERBS[step.op] : DONE_VERBS[step.op];
  let line = `${SYMBOLS[step.op]} ${step.type} ${step.name} ${verb}`;
  if (step.changedKeys?.length) line += ` [diff: ${step.changedKeys.map((k) => `~${k}`).join(",")}]`;
  if (step.deleteBeforeReplace) line += " (delete before replace)";
  const details = (step.changes ?? []).map((c) => {
    const symbol = c.replaces ? "+-" : { add: "+", update: "~", delete: "-" }[c.kind];
    const value =
      c.key === "__provider"
        ? "(serialized provider changed)"
        : c.kind === "update"
          ? `${c.from} => ${c.to}`
          : (c.to ?? c.from ?? "");
    return `      ${symbol} ${c.key}: ${value}${c.replaces ? " (forces replacement)" : ""}`;
  });
  return [line, ...details];
}

/** The `Diagnostics:` section. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], stackUrn: string): string[] {
  if (diagnostics.length === 0) return [];
  const groups = new Map<string, Diagnostic[]>();
  for (const d of diagnostics) {
    const urn = d.urn ?? stackUrn;
    groups.set(urn, [...(groups.get(urn) ?? []), d]);
  }
  const lines = ["", "Diagnostics:"];
  for (const [urn, items] of groups) {
    lines.push(`  ${urnType(urn)} (${urnName(urn)}):`);
    for (const d of items) {
      const prefix = d.severity === "info" ? "" : `${d.severity}: `;
      const [first, ...rest] = d.message.replace(/\n+$/, "").split("\n");
      lines.push(`    ${prefix}${first}`, ...rest.map((l) => `    ${l}`));
    }
    lines.push("");
  }
  lines.pop();
  return lines;
}

/** The `Outputs:` section (secret outputs as `[secret]`). */
export function formatOutputs(outputs: Props): string[] {
  const keys = Object.keys(outputs).sort();
  return ["", "Outputs:", ...keys.map((k) => `    ${k}: ${renderValue(outputs[k], 200)}`)];
}

/** The `Resources:` counts and the duration. */
export function formatSummary(operation: Operation, steps: readonly StepRecord[], durationMs: number): string[] {
  const counted = steps.filter((s) => !s.hidden && !s.failed && s.op !== "delete-replaced");
  const count = (op: StepOp) => counted.filter((s) => s.op === op).length;
  const preview = operation === "preview";
  const lines = ["", "Resources:"];
  const kinds: Array<[StepOp, string, string, string]> = [
    ["create", "+ ", "to create", "created"],
    ["update", "~ ", "to update", "updated"],
    ["replace", "+-", "to replace", "replaced"],
    ["delete", "- ", "to delete", "deleted"],
  ];
  for (const [op, symbol, planned, done] of kinds) {
    const n = count(op);
    if (n > 0) lines.push(`    ${symbol}${n} ${preview ? planned : done}`);
  }
  const same = count("same");
  if (same > 0) lines.push(`    ${same} unchanged`);
  if (lines.length === 2) lines.push("    no changes");
  lines.push("", `Duration: ${Math.max(1, Math.round(durationMs / 1000))}s`);
  return lines;
}
