import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/packed-package";

describe("tools/install-pulumi-cli.sh", () => {
  it("with neither a pulumi CLI nor Go, fails and says how to get one", () => {
    // A PATH holding only the shell tools the script uses: no go, no pulumi.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "no-go-"));
    for (const tool of ["bash", "cat", "cut", "dirname", "sha256sum"]) {
      const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      fs.symlinkSync(found, path.join(bin, tool));
    }
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "repo-"));
    fs.cpSync(path.join(REPO_ROOT, "tools"), path.join(copy, "tools"), { recursive: true });
    const run = spawnSync(path.join(bin, "bash"), [path.join(copy, "tools/install-pulumi-cli.sh")], { env: { PATH: bin }, encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/install the Pulumi CLI so that `pulumi` is on PATH, or install Go 1\.26 or newer/);
    fs.rmSync(bin, { recursive: true });
    fs.rmSync(copy, { recursive: true });
  });
});
