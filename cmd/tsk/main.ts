// tsk entry point: maps a subcommand to its run function in internal/cli and nothing else.
import "./threadpool";
import { main } from "../../internal/cli/main";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tsk: ${err instanceof Error ? err.message : String(err)}\n`);
    // TSK_DEBUG=1 shows where an error came from.
    if (process.env.TSK_DEBUG)
      process.stderr.write(`${(err as Error)?.stack}\ncause: ${((err as Error)?.cause as Error)?.stack}\n`);
    process.exitCode = 1;
  },
);
