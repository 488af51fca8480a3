/**
 * `destroy`: deletes every resource in the state in reverse dependency order (see `deletes.ts`),
 * each layer in parallel up to `--parallel`, writing the state after each deletion. The program
 * does not run, as with `pulumi destroy`.
 */
import { deleteResource, scheduleDeletes } from "./deletes";
import { createLimit } from "./limit";
import { failureMessage, type DynamicProvider } from "./provider";
import type { Report } from "./report";
import type { ResourceState, StateFile } from "./state";
import { isProviderType } from "./urn";

/** What a destroy runs with. */
export interface DestroyOptions {
  state: StateFile;
  provider: DynamicProvider;
  report: Report;
  parallel: number;
}

/** Destroys the stack's resources; returns what is left in the state (nothing, unless something failed). */
export async function runDestroy({ state, provider, report, parallel }: DestroyOptions): Promise<ResourceState[]> {
  const limit = createLimit(parallel);
  let remaining = [...state.checkpoint.resources];
  for (const layer of scheduleDeletes(remaining)) {
    await Promise.all(
      layer.map((r) =>
        limit(async () => {
          const hidden = isProviderType(r.type) || undefined;
          const op = r.delete ? "delete-replaced" : "delete";
          try {
            await deleteResource(provider, r);
            remaining = remaining.filter((x) => x !== r);
            await state.save(remaining);
            report.step({ op, urn: r.urn, hidden });
          } catch (err) {
            report.step({ op, urn: r.urn, hidden, failed: true });
            report.fail(r.urn, failureMessage(err));
          }
        }),
      ),
    );
    if (report.failed) break;
  }
  await state.save(remaining);
  return remaining;
}
