// Small file helpers for credentials: every secret-bearing file is written whole
// (temp file + fsync + rename) with its final mode from the first byte, so a crash
// never leaves a half-written key and no other user can read it even briefly.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Writes `data` to `path` atomically with `mode`, creating missing parent dirs with `dirMode`. */
export async function writeFileAtomic(
  path: string,
  data: string | Buffer,
  mode: number,
  dirMode = 0o700,
): Promise<void> {
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true, mode: dirMode });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await fs.open(tmp, "wx", mode);
  try {
    await fh.writeFile(data);
    // open() mode is filtered by the umask; set it exactly.
    await fh.chmod(mode);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Reads a file as UTF-8, or undefined when it does not exist. Other errors propagate. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
