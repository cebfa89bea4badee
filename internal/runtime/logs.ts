// Reading CRI-format container logs: "<RFC3339Nano> stdout|stderr F|P <text>" per line.

import { watch } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { LogEntry, LogOptions } from "./types";

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
 * Yields the log's entries; with `follow`, keeps yielding new ones until `isDone()`
 * says the writer has finished and everything it wrote has been read.
 */
export async function* readLog(
  path: string,
  opts: LogOptions,
  isDone: () => boolean,
  startOffset = 0,
): AsyncGenerator<LogEntry> {
  const sinceMs = opts.since ? opts.since.getTime() : undefined;
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  let offset = startOffset;
  let pending = "";
  let first = true;
  const wake = { fn: undefined as undefined | (() => void) };
  const watcher = opts.follow
    ? (() => {
        try {
          return watch(path, () => wake.fn?.());
        } catch {
          return undefined;
        }
      })()
    : undefined;
  try {
    for (;;) {
      if (!fh) {
        try {
          fh = await open(path, "r");
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
      }
      const done = isDone();
      if (fh) {
        const size = (await stat(path)).size;
        if (size > offset) {
          const buf = Buffer.alloc(size - offset);
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          offset += bytesRead;
          pending += buf.subarray(0, bytesRead).toString("utf8");
        }
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        let entries = lines.map(parseLogLine).filter((e): e is LogEntry => e !== undefined);
        if (sinceMs !== undefined) entries = entries.filter((e) => logTimeMillis(e.time) >= sinceMs);
        if (first && opts.tail !== undefined) entries = opts.tail <= 0 ? [] : entries.slice(-opts.tail);
        first = false;
        for (const e of entries) yield e;
      }
      if (!opts.follow || done || opts.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        // Woken by the file watcher, the abort signal, or a 250 ms tick; whichever
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
    await fh?.close();
  }
}
