// Imported before anything else: libuv sizes its thread pool from this variable when the
// pool is first used. On a node, file system calls, posix_spawn of container monitors
// (each holds a thread until its container is set up) and TLS key work share it; the
// default 4 threads make a node starting many pods at once wait in line. Only the
// long-running commands that start pods get the larger pool.
// TODO: `tsk ctr run -i` with 16 threads sometimes never delivers EOF to the container
// (test/integration/runtime/ctr-cli.test.ts hangs about one run in two); not understood yet.
const command = process.argv[2];
if (command === "server" || command === "agent") process.env.UV_THREADPOOL_SIZE ??= "16";
