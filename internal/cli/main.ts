// Subcommand table. Each command module exports `run(argv): Promise<number>` and is
// loaded only when used, so `tsk ctr ps` does not pay for the API server's start-up.
import { GIT_VERSION, TSK_VERSION } from "../version";
import { UsageError } from "./flags";

type Runner = (argv: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<Runner> }> = {
  server: {
    summary: "run the control plane (and an agent for this machine)",
    load: async () => (await import("./server")).run,
  },
  agent: {
    summary: "join a cluster and run its workloads on this machine",
    load: async () => (await import("./agent")).run,
  },
  token: { summary: "print the join token for agents", load: async () => (await import("./token")).run },
  ctr: {
    summary: "run and manage containers on this machine",
    load: async () => (await import("./ctr")).run,
  },
  images: {
    summary: "import, list, pull and remove images",
    load: async () => (await import("./images")).run,
  },
  "check-config": {
    summary: "check the kernel features tsk needs",
    load: async () => (await import("./check-config")).run,
  },
};

function help(): string {
  const lines = [
    "Usage: tsk COMMAND [FLAGS]",
    "",
    "A small Kubernetes distribution in one executable.",
    "",
    "Commands:",
  ];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(14)} ${c.summary}`);
  lines.push("", "Run 'tsk COMMAND --help' for a command's flags.");
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "--version" || cmd === "-v" || cmd === "version") {
    process.stdout.write(`tsk version ${TSK_VERSION} (kubernetes ${GIT_VERSION})\n`);
    return 0;
  }
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    process.stdout.write(`${help()}\n`);
    return cmd === undefined ? 1 : 0;
  }
  const entry = commands[cmd];
  if (!entry) {
    process.stderr.write(`tsk: unknown command "${cmd}"\n\n${help()}\n`);
    return 1;
  }
  try {
    return await (await entry.load())(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tsk ${cmd}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
