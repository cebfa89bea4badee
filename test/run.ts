// Test runner: runs every test/**/*.test.ts file in its own Node process (integration
// tests start servers and containers; a crash in one file must not take the others
// down), streams its output, and ends with the line CI reads: "N passed, N failed".
//
//   npm test                   all tests
//   npm test -- store apiserver  only files whose path contains one of the words
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(__dirname, "..");
const FILE_TIMEOUT_MS = Number(process.env.TSK_TEST_FILE_TIMEOUT_MS ?? 600_000);

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
}

/** Reads uvu's closing summary ("Total: N / Passed: N / Skipped: N"). */
export function parseSummary(output: string): { total: number; passed: number; skipped: number } | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
  const text = output.replace(/\x1b\[[0-9;]*m/g, "");
  const totals = [...text.matchAll(/Total:\s+(\d+)\s+Passed:\s+(\d+)\s+Skipped:\s+(\d+)/g)];
  if (totals.length === 0) return undefined;
  let total = 0;
  let passed = 0;
  let skipped = 0;
  for (const m of totals) {
    total += Number(m[1]);
    passed += Number(m[2]);
    skipped += Number(m[3]);
  }
  return { total, passed, skipped };
}

function runFile(file: string): Promise<FileResult> {
  const name = relative(root, file);
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ["--import", "tsx", file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      process.stdout.write(`\n${name}: timed out after ${FILE_TIMEOUT_MS} ms, killing\n`);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, FILE_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      const summary = parseSummary(output);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (!summary) {
        process.stdout.write(`${name}: no test summary (exit ${code}); counted as one failure\n`);
        resolve({ file: name, passed: 0, failed: 1, skipped: 0 });
        return;
      }
      let failed = summary.total - summary.passed - summary.skipped;
      if (code !== 0 && failed === 0) failed = 1; // crashed after its tests, or timed out
      process.stdout.write(`${name}: ${summary.passed} passed, ${failed} failed (${secs}s)\n`);
      resolve({ file: name, passed: summary.passed, failed, skipped: summary.skipped });
    });
  });
}

async function main() {
  const filters = process.argv.slice(2);
  let files = findTests(join(root, "test"));
  if (filters.length) files = files.filter((f) => filters.some((w) => relative(root, f).includes(w)));
  const results: FileResult[] = [];
  for (const f of files) results.push(await runFile(f));
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  const bad = results.filter((r) => r.failed > 0).map((r) => r.file);
  if (bad.length) process.stdout.write(`\nfailing files:\n  ${bad.join("\n  ")}\n`);
  process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  process.exit(failed > 0 || files.length === 0 ? 1 : 0);
}

if (require.main === module) main();
