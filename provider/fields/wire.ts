/**
 * What the program side (provider/resources) and the provider side (provider/runtime) agree on
 * beyond the fields: the keys and markers they pass each other, and the one input rule the program
 * side must apply itself. Imports nothing, so both layers can use it.
 */

/**
 * The input under which a resource passes the names of the inputs its program marked secret
 * (`pulumi.secret(...)`, `config.requireSecret(...)`, or an Output derived from one).
 *
 * The provider process cannot tell them otherwise: `@pulumi/pulumi`'s dynamic provider host
 * answers Configure with `acceptSecrets: false`, so the engine strips every secret marker before it
 * sends Check, Diff, Create, Update, Read and Delete (`MarshalProperties` with `KeepSecrets: false`
 * in the engine's `provider_plugin.go`), and the host unwraps the secret config values it is given
 * (`rpc.unwrapRpcSecret` in `cmd/dynamic-provider/index.js`) before `configure` sees them. Only the
 * program, where the resource's arguments are Outputs, knows (`pulumi.isSecret`). This key carries
 * names only, never a value; it is taken off before the provider's own methods see the inputs and
 * kept in what they return (checked inputs, outputs), so the state holds it for later runs.
 */
export const SECRET_INPUTS_KEY = "__secretInputs";

/**
 * What a StoreSecret with `valueFrom` passes as `value`, wrapped as a Pulumi secret: the engine
 * keeps secret only the checked inputs whose program input was secret, so without it the
 * fingerprint `check` stores under `value` would be plaintext in the state. Never a value.
 */
export const VALUE_FROM_MARKER = "(read by the provider from valueFrom)";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Failure reason when `text` is not well-formed UTF-16 or holds NUL. Note that a lone surrogate
 * never reaches `check`: the SDK's protobuf encoder drops it between the program and the engine,
 * so only a program-side check (in the resource classes) can refuse it; this one catches U+FFFD,
 * what such text becomes when it passed through UTF-8.
 */
export function encodingProblem(property: string, text: string): string | undefined {
  if (LONE_SURROGATE.test(text) || text.includes("\ufffd")) {
    // A lone surrogate cannot be encoded as UTF-8: on the way here (the engine's protobuf wire) or to
    // Cloudflare it becomes U+FFFD, so the stored text would silently differ from the program's.
    return `\`${property}\` contains a lone UTF-16 surrogate or U+FFFD (the replacement character a lone surrogate turns into), so it is not the text the program meant. Fix the text's encoding where it comes from.`;
  }
  if (text.includes("\u0000")) return `\`${property}\` contains a NUL character (U+0000). Remove it.`;
  return undefined;
}
