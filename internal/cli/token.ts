// `tsk token`: prints the join token agents need (`tsk agent --token ...`), read from
// <data-dir>/server/token, which `tsk server` writes on every start.
import { joinTokenPath, readJoinToken } from "../pki/jointoken";
import { type FlagSpec, parseFlags, UsageError, usage } from "./flags";

export const DEFAULT_DATA_DIR = "/var/lib/tsk";

const specs: FlagSpec[] = [
  {
    name: "data-dir",
    short: "d",
    type: "string",
    default: DEFAULT_DATA_DIR,
    help: "the server's data directory",
  },
  { name: "help", short: "h", type: "bool", help: "show this help" },
];

export async function run(argv: string[]): Promise<number> {
  const { values, rest } = parseFlags(specs, argv);
  if (values.help) {
    process.stdout.write(
      `${usage("tsk token [FLAGS]", "Print the join token for agents (tsk agent --token).", specs)}\n`,
    );
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const dataDir = String(values["data-dir"]);
  const path = joinTokenPath(dataDir);
  let token: string | undefined;
  try {
    token = await readJoinToken(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") {
      process.stderr.write(`tsk token: cannot read ${path}: permission denied (run as root)\n`);
      return 1;
    }
    process.stderr.write(`tsk token: reading ${path}: ${(err as Error).message}\n`);
    return 1;
  }
  if (token === undefined || token === "") {
    process.stderr.write(
      `tsk token: no join token at ${path}: the server has not been started with --data-dir ${dataDir} on this machine (start "tsk server" first)\n`,
    );
    return 1;
  }
  process.stdout.write(`${token}\n`);
  return 0;
}
