export async function run(_argv: string[]): Promise<number> {
  process.stderr.write("tsk server: not built yet\n");
  return 1;
}
