import * as crypto from "node:crypto";

export const sha256 = (value: string): string => crypto.createHash("sha256").update(value, "utf8").digest("hex");

/** The needles that occur in `haystack` (for leak assertions: expect(leaks(...)).toEqual([])). */
export function leaks(haystack: string, needles: string[]): string[] {
  return needles.filter((n) => n.length > 0 && haystack.includes(n));
}
