/**
 * The store bindings this program declares (every WorkerSecretBinding and WorkerSecretBindings it
 * constructs), so a StoreSecret's `boundBy` can say which of the Workers using it this program
 * manages. Kept in the program's process: the provider sees one resource at a time.
 */
import * as pulumi from "@pulumi/pulumi";

/** One binding of a Worker to a secret, as a binding resource declares it. */
interface DeclaredBinding {
  scriptName: string;
  bindingName: string;
  storeId: string;
  secretName: string;
}

/** One use of a secret, as `StoreSecret.boundBy` reports it. */
export interface SecretUse {
  /** The Worker. */
  scriptName: string;
  /** The binding's name in the Worker (`env.STRIPE_KEY`). */
  bindingName: string;
  /** The secret it points at: the secret itself, or its previous-value copy. */
  secretName: string;
  /** Whether a WorkerSecretBinding(s) of this program declares the binding. */
  managed: boolean;
}

const declared: pulumi.Output<DeclaredBinding[]>[] = [];

/** Records bindings a binding resource of this program declares (called from its constructor). */
export function declareBindings(bindings: pulumi.Output<DeclaredBinding[]>): void {
  declared.push(bindings);
}

const key = (b: Omit<DeclaredBinding, "storeId">) => `${b.scriptName}\u0000${b.bindingName}\u0000${b.secretName}`;

/**
 * The uses the provider found (state's `boundBy`), each marked `managed` when this program declares
 * it. Runs once the secret is registered, by which time the program has constructed its bindings.
 */
export function markManaged(found: pulumi.Output<Omit<SecretUse, "managed">[] | undefined>, storeId: pulumi.Output<string>): pulumi.Output<SecretUse[]> {
  return pulumi.all([found, storeId]).apply(([uses, store]) =>
    pulumi.all(declared).apply((lists) => {
      const ours = new Set(
        lists
          .flat()
          .filter((b) => b.storeId === store)
          .map(key),
      );
      return (uses ?? []).map((u) => ({ ...u, managed: ours.has(key(u)) }));
    }),
  );
}
