// Flag parsing shared by every subcommand. Each flag also reads TSK_<NAME> from the
// environment (k3s does the same with K3S_*), so a service unit can be configured
// without a command line. Flags win over the environment.
import { parseArgs } from "node:util";

export type FlagType = "string" | "bool" | "int" | "list";

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  default?: string | boolean | number | string[];
  help: string;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export class UsageError extends Error {
  readonly code = "USAGE";
}

export function envName(flag: string): string {
  return `TSK_${flag.toUpperCase().replace(/-/g, "_")}`;
}

/**
 * Parses argv against specs. Positional arguments are returned in `rest`; with
 * `stopAtPositional` everything from the first positional on is left unparsed
 * (for `tsk ctr run IMAGE CMD --flags-of-the-command`).
 */
export function parseFlags(
  specs: FlagSpec[],
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  opts: { stopAtPositional?: boolean } = {},
): { values: FlagValues; rest: string[] } {
  let args = argv;
  let tail: string[] = [];
  if (opts.stopAtPositional) {
    const i = firstPositional(specs, argv);
    if (i >= 0) {
      args = argv.slice(0, i);
      tail = argv.slice(i);
    }
  }
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const s of specs) {
    options[s.name] = {
      type: s.type === "bool" ? "boolean" : "string",
      ...(s.short ? { short: s.short } : {}),
      ...(s.type === "list" ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values: FlagValues = {};
  for (const s of specs) {
    const raw = (parsed.values as Record<string, unknown>)[s.name];
    const fromEnv = env[envName(s.name)];
    values[s.name] = convert(s, raw ?? (fromEnv !== undefined ? fromEnvValue(s, fromEnv) : undefined));
  }
  return { values, rest: [...parsed.positionals, ...tail] };
}

function fromEnvValue(s: FlagSpec, v: string): unknown {
  if (s.type === "list") return v.split(",").filter(Boolean);
  if (s.type === "bool") return v === "true" || v === "1";
  return v;
}

function convert(s: FlagSpec, v: unknown): FlagValues[string] {
  if (v === undefined) return s.default;
  if (s.type === "int") {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`--${s.name}: not an integer: ${String(v)}`);
    return n;
  }
  return v as FlagValues[string];
}

function firstPositional(specs: FlagSpec[], argv: string[]): number {
  const takesValue = new Set<string>();
  for (const s of specs) {
    if (s.type === "bool") continue;
    takesValue.add(`--${s.name}`);
    if (s.short) takesValue.add(`-${s.short}`);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") return i + 1 <= argv.length ? i : -1;
    if (!a.startsWith("-") || a === "-") return i;
    if (!a.includes("=") && takesValue.has(a)) i++;
  }
  return -1;
}

/** One help text per command, from the same specs that parse it. */
export function usage(command: string, summary: string, specs: FlagSpec[]): string {
  const lines = [`Usage: ${command}`, "", summary, "", "Flags:"];
  for (const s of specs) {
    const names = `${s.short ? `-${s.short}, ` : "    "}--${s.name}${s.type === "bool" ? "" : ` ${s.type.toUpperCase()}`}`;
    const def =
      s.default !== undefined && s.default !== false ? ` (default ${JSON.stringify(s.default)})` : "";
    lines.push(`  ${names.padEnd(32)} ${s.help}${def} [$${envName(s.name)}]`);
  }
  return lines.join("\n");
}
