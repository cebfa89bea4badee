// Shared by the image integration tests: temp dirs that are always removed, a look at
// everything the store holds on disk, and the tsk command line as a user runs it.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(__dirname, "..", "..", "..");

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tsk-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

function ls(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** What the store holds on disk, for "nothing changed" checks. */
export function storeFiles(dataDir: string): {
  layers: string[];
  blobs: string[];
  tmp: string[];
  leases: string[];
  index: string[];
} {
  const a = join(dataDir, "agent");
  return {
    layers: ls(join(a, "layers", "sha256")),
    blobs: ls(join(a, "content", "blobs", "sha256")),
    tmp: ls(join(a, "tmp")),
    leases: ls(join(a, "leases")),
    index: ls(join(a, "content")),
  };
}

/** Runs `tsk ARGS...` in a child process; resolves with its exit code and output. */
export function tsk(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(root, "cmd", "tsk", "main.ts"), ...args],
      { cwd: root },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === "number"
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Disk blocks used under dir, in bytes (du), hardlinks counted once. */
export function diskUsage(dir: string): number {
  return Number(execFileSync("du", ["-s", "-B1", dir], { encoding: "utf8" }).split(/\s/)[0]);
}
