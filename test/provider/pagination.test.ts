import { describe, expect, it } from "vitest";
import { hasNextPage, MAX_PAGES, type PageSeen } from "../../provider/api/pagination";

const seen = (page: number, items: number, itemsSoFar: number, resultInfo?: unknown): PageSeen => ({
  params: { page, per_page: 100 },
  items,
  itemsSoFar,
  resultInfo,
});

describe("hasNextPage: where reading a list stops", () => {
  it("follows total_pages first, even when a server caps per_page lower", () => {
    expect(hasNextPage(seen(1, 50, 50, { total_pages: 3, total_count: 50 }))).toBe(true);
    expect(hasNextPage(seen(3, 50, 150, { total_pages: 3 }))).toBe(false);
  });

  it("without total_pages, follows total_count", () => {
    expect(hasNextPage(seen(1, 50, 50, { total_count: 120 }))).toBe(true);
    expect(hasNextPage(seen(3, 20, 120, { total_count: 120 }))).toBe(false);
  });

  it("without counts (none, null or unreadable), a short page is the last", () => {
    for (const info of [undefined, null, { page: 1 }, { total_pages: "3" }]) {
      expect(hasNextPage(seen(1, 100, 100, info))).toBe(true);
      expect(hasNextPage(seen(2, 99, 199, info))).toBe(false);
    }
  });

  it("an empty page is the last, and so is the last page it ever reads", () => {
    expect(hasNextPage(seen(2, 0, 100, { total_pages: 9 }))).toBe(false);
    expect(hasNextPage(seen(MAX_PAGES, 100, 100 * MAX_PAGES, { total_pages: MAX_PAGES + 1 }))).toBe(false);
  });
});
