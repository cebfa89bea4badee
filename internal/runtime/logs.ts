// Reading CRI-format container logs: "<RFC3339Nano> stdout|stderr F|P <text>" per line.
//
// The monitor rotates a container's log by size, as the kubelet does: container.log
// becomes container.log.1 (.1 becomes .2 ...) and a fresh container.log is opened,
// always between two lines. A reader follows the files by inode: it reads them
// oldest first, and when the file it is reading stops being container.log it
// finishes that file (its descriptor still reads the renamed file) and goes on
// with the file that came after it.

import { watch } from "node:fs";
import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { LogEntry, LogOptions, LogStart } from "./types";

export function parseLogLine(line: string): LogEntry | undefined {
  const a = line.indexOf(" ");
  const b = line.indexOf(" ", a + 1);
  const c = line.indexOf(" ", b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const stream = line.slice(a + 1, b);
  const tag = line.slice(b + 1, c);
  if ((stream !== "stdout" && stream !== "stderr") || (tag !== "F" && tag !== "P")) return undefined;
  return { time: line.slice(0, a), stream, full: tag === "F", text: line.slice(c + 1) };
}

/** Compares RFC3339Nano timestamps with up to nine fractional digits. */
export function logTimeMillis(time: string): number {
  return Date.parse(time.replace(/\.(\d{3})\d*Z$/, ".$1Z"));
}

/**
 * The log files of `base` ("container.log") among a directory's `names`, oldest
 * first: the rotated ones by descending number ("container.log.3", ".2", ".1"),
 * then `base` itself when it is present.
 */
export function logFileOrder(base: string, names: string[]): string[] {
  const rotated: [number, string][] = [];
  for (const n of names) {
    if (!n.startsWith(`${base}.`)) continue;
    const suffix = n.slice(base.length + 1);
    if (/^[1-9][0-9]{0,8}$/.test(suffix)) rotated.push([Number(suffix), n]);
  }
  rotated.sort((x, y) => y[0] - x[0]);
  const out = rotated.map(([, n]) => n);
  if (names.includes(base)) out.push(base);
  return out;
}

/**
 * Which file comes after the one with inode `ino` in a chain listed oldest first:
 * the next one; the oldest when `ino` is gone (deleted as the oldest beyond the
 * limit: what it led to is the oldest left); undefined when it is the newest.
 */
export function nextInChain<T extends { ino: bigint }>(chain: T[], ino: bigint): T | undefined {
  const i = chain.findIndex((f) => f.ino === ino);
  return i < 0 ? chain[0] : chain[i + 1];
}

interface ChainFile {
  path: string;
  ino: bigint;
  mtimeMs: number;
}

/** The log's files, oldest first: a listing that came out the same twice in a row (names and inodes). */
async function listChain(path: string): Promise<ChainFile[]> {
  let prev = await listOnce(path);
  for (let attempt = 0; attempt < 5; attempt++) {
    const again = await listOnce(path);
    if (
      again.length === prev.length &&
      again.every((f, i) => f.path === prev[i].path && f.ino === prev[i].ino)
    )
      return again;
    prev = again;
  }
  return prev;
}

async function listOnce(path: string): Promise<ChainFile[]> {
  const dir = dirname(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: ChainFile[] = [];
  for (const n of logFileOrder(basename(path), names)) {
    const p = join(dir, n);
    const st = await statOrUndefined(p);
    if (st) out.push({ path: p, ino: st.ino, mtimeMs: Number(st.mtimeMs) });
  }
  return out;
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

interface Cursor {
  fh: FileHandle;
  ino: bigint;
  offset: number;
  decoder: StringDecoder;
  pending: string;
}

/** Opens `path` if it is still the file with inode `ino` (any file when ino is undefined). */
async function openIf(path: string, ino?: bigint, offset = 0): Promise<Cursor | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const st = await fh.stat({ bigint: true });
  if (ino !== undefined && st.ino !== ino) {
    await fh.close();
    return undefined;
  }
  return { fh, ino: st.ino, offset, decoder: new StringDecoder("utf8"), pending: "" };
}

/**
 * Yields the log's entries, across its rotated files, oldest first; with `follow`,
 * keeps yielding new ones (through rotations) until `isDone()` says the writer has
 * finished and everything it wrote has been read. A numeric `start` begins in the
 * current file at that byte, leaving out the rotated ones; a LogStart begins at its
 * byte in its file wherever rotation has moved it since.
 */
export async function* readLog(
  path: string,
  opts: LogOptions,
  isDone: () => boolean,
  start: number | LogStart = 0,
): AsyncGenerator<LogEntry> {
  const sinceMs = opts.since ? opts.since.getTime() : undefined;
  const tail = opts.tail;
  let cur: Cursor | undefined;
  // Until the first time the newest file is read to its end, entries go through
  // `held` when only the last `tail` of them are wanted.
  let catchingUp = true;
  let held: LogEntry[] = [];
  const wake = { fn: undefined as undefined | (() => void) };
  const watcher = opts.follow
    ? (() => {
        try {
          // The directory: its events cover the renamed file and the new one alike.
          return watch(dirname(path), () => wake.fn?.());
        } catch {
          return undefined;
        }
      })()
    : undefined;

  const openFirst = async (): Promise<Cursor | undefined> => {
    if (typeof start === "number" && start > 0) return openIf(path, undefined, start);
    for (let attempt = 0; attempt < 10; attempt++) {
      let chain = await listChain(path);
      if (chain.length === 0) return undefined;
      if (typeof start === "object") {
        // Its file, found by inode; when that was deleted meanwhile, what followed it.
        const f = chain.find((c) => c.ino === start.ino);
        const c = f ? await openIf(f.path, f.ino, start.offset) : await openIf(chain[0].path, chain[0].ino);
        if (c) return c;
        continue;
      }
      // A file last written before `since` holds nothing wanted (with a margin for
      // the kernel's coarse file clock); the newest is always read.
      if (sinceMs !== undefined)
        chain = chain.filter((f, i) => i === chain.length - 1 || f.mtimeMs >= sinceMs - 1000);
      const c = await openIf(chain[0].path, chain[0].ino);
      if (c) return c;
    }
    return undefined;
  };

  // The file that came after `c`'s, once `c`'s is no longer the current log.
  const openNext = async (c: Cursor): Promise<Cursor | undefined> => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const next = nextInChain(await listChain(path), c.ino);
      if (!next) return undefined;
      const n = await openIf(next.path, next.ino);
      if (n) return n;
    }
    return undefined;
  };

  const toEntries = (lines: string[]): LogEntry[] => {
    let entries = lines.map(parseLogLine).filter((e): e is LogEntry => e !== undefined);
    if (sinceMs !== undefined) entries = entries.filter((e) => logTimeMillis(e.time) >= sinceMs);
    if (catchingUp && tail !== undefined) {
      if (tail > 0) {
        held.push(...entries);
        if (held.length > 2 * tail + 1024) held = held.slice(-tail);
      }
      return [];
    }
    return entries;
  };

  const buf = Buffer.alloc(64 * 1024);
  // Reads `c` from its offset to its current end.
  async function* drain(c: Cursor): AsyncGenerator<LogEntry> {
    for (;;) {
      const { bytesRead } = await c.fh.read(buf, 0, buf.length, c.offset);
      if (bytesRead === 0) return;
      c.offset += bytesRead;
      const lines = (c.pending + c.decoder.write(buf.subarray(0, bytesRead))).split("\n");
      c.pending = lines.pop() ?? "";
      for (const e of toEntries(lines)) yield e;
    }
  }

  try {
    for (;;) {
      const done = isDone();
      if (!cur) cur = await openFirst();
      if (cur) {
        yield* drain(cur);
        const now = await statOrUndefined(path);
        if (now && now.ino !== cur.ino) {
          // Rotated: the writer appends nothing more to this file once it is renamed.
          yield* drain(cur);
          const next = await openNext(cur);
          if (next) {
            const rest = cur.pending + cur.decoder.end();
            if (rest) for (const e of toEntries([rest])) yield e;
            await cur.fh.close();
            cur = next;
            continue;
          }
        }
      }
      if (catchingUp) {
        catchingUp = false;
        if (tail !== undefined && tail > 0) for (const e of held.slice(-tail)) yield e;
        held = [];
      }
      if (!opts.follow || done || opts.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        // Woken by the directory watcher, the abort signal, or a 250 ms tick; whichever
        // comes first clears the others so nothing keeps the process alive.
        const done = () => {
          clearTimeout(t);
          opts.signal?.removeEventListener("abort", done);
          wake.fn = undefined;
          resolve();
        };
        const t = setTimeout(done, 250);
        opts.signal?.addEventListener("abort", done, { once: true });
        wake.fn = done;
      });
    }
  } finally {
    watcher?.close();
    await cur?.fh.close();
  }
}
