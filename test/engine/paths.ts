/**
 * Property paths as the resource options `ignoreChanges` and `replaceOnChanges` use them
 * (`a.b[0]`, `a["x.y"]`, `*` as a wildcard segment), and the two engine rules built on them.
 */
import { isObject, type Props } from "./values";

/** Splits a property path into segments. */
export function parsePath(path: string): string[] {
  const segments: string[] = [];
  const re = /([^.[\]]+)|\[(\d+|\*)\]|\["((?:[^"\\]|\\.)*)"\]/g;
  for (const m of path.matchAll(re)) segments.push(m[1] ?? m[2] ?? JSON.parse(`"${m[3]}"`));
  return segments;
}

/** True when `pattern` names `path` or one of its ancestors (`*` matches any segment). */
export function pathContains(pattern: string, path: string): boolean {
  const p = parsePath(pattern);
  const k = parsePath(path);
  return p.length <= k.length && p.every((s, i) => s === "*" || s === k[i]);
}

/**
 * `ignoreChanges`: each path in `news` is reset to its value in `olds` (removed when `olds` has
 * none). Throws, as the engine does, when a path's parent is missing.
 */
export function applyIgnoreChanges(news: Props, olds: Props, paths: readonly string[]): Props {
  const result = structuredClone(news);
  const invalid: string[] = [];
  for (const path of paths) {
    const segments = parsePath(path);
    if (segments.length === 1 && segments[0] === "*") return structuredClone(olds);
    const leaf = segments.pop();
    const newParent = walk(result, segments);
    const oldParent = walk(olds, segments);
    if (leaf === undefined || newParent === undefined) {
      if (oldParent !== undefined) invalid.push(path);
      continue;
    }
    if (oldParent !== undefined && leaf in oldParent) newParent[leaf] = structuredClone(oldParent[leaf]);
    else delete newParent[leaf];
  }
  if (invalid.length > 0) {
    throw new Error(
      `cannot ignore changes to the following properties because one or more elements of the path are missing: ${invalid
        .map((p) => JSON.stringify(p))
        .join(", ")}`,
    );
  }
  return result;
}

function walk(root: Props, segments: readonly string[]): Record<string, unknown> | undefined {
  let current: unknown = root;
  for (const s of segments) {
    if (!isObject(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[s];
  }
  return isObject(current) || Array.isArray(current) ? (current as Record<string, unknown>) : undefined;
}
