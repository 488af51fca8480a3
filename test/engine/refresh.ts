/**
 * `refresh`: reads every custom resource through its provider (`read(id, outputs, inputs)`), at most
 * `--parallel` at once, and writes what it finds: new outputs (and new inputs when `read` returns
 * them); a resource whose read comes back without an id is gone and leaves the state. The program
 * does not run, as with `pulumi refresh`.
 */
import { createLimit } from "./limit";
import { failureMessage, type DynamicProvider } from "./provider";
import { describeChanges, type Report } from "./report";
import type { ResourceState, StateFile } from "./state";
import { isDynamicType, isProviderType } from "./urn";
import { changedKeys } from "./values";

/** What a refresh runs with. */
export interface RefreshOptions {
  state: StateFile;
  provider: DynamicProvider;
  report: Report;
  parallel: number;
}

/** Refreshes the stack's state; returns the resources as written. */
export async function runRefresh({ state, provider, report, parallel }: RefreshOptions): Promise<ResourceState[]> {
  const limit = createLimit(parallel);
  const current = new Map<ResourceState, ResourceState | undefined>(state.checkpoint.resources.map((r) => [r, r]));
  const snapshot = () => [...current.values()].filter((r): r is ResourceState => r !== undefined);
  await Promise.all(
    [...current.keys()].map((r) =>
      limit(async () => {
        const hidden = isProviderType(r.type) || undefined;
        if (!r.custom || hidden || !isDynamicType(r.type) || !r.id) {
          report.step({ op: "same", urn: r.urn, hidden });
          return;
        }
        if (report.failed) return;
        try {
          const read = await provider.read(r.urn, r.id, r.outputs, r.inputs);
          if (!read.id) {
            current.set(r, undefined);
            await state.save(snapshot());
            report.step({ op: "delete", urn: r.urn });
            return;
          }
          const next: ResourceState = { ...r, id: read.id, outputs: read.outputs, inputs: read.inputs ?? r.inputs };
          current.set(r, next);
          await state.save(snapshot());
          const keys = changedKeys(r.outputs, next.outputs);
          const inputKeys = changedKeys(r.inputs, next.inputs);
          if (keys.length === 0 && inputKeys.length === 0 && read.id === r.id) report.step({ op: "same", urn: r.urn });
          else report.step({ op: "update", urn: r.urn, changedKeys: keys, changes: describeChanges(r.outputs, next.outputs, keys) });
        } catch (err) {
          report.step({ op: "update", urn: r.urn, failed: true });
          report.fail(r.urn, failureMessage(err));
        }
      }),
    ),
  );
  await state.save(snapshot());
  return snapshot();
}
