// Placeholder while the runtime work lands in this session; replaced by the real command.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write("tsk ctr: not built yet\n");
  return 1;
}
