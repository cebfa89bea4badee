// Placeholder while the pki work lands in this session; replaced by the real command.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write("tsk token: not built yet\n");
  return 1;
}
