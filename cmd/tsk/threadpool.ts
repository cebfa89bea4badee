// Imported before anything else: libuv sizes its thread pool from this variable when the
// pool is first used. File system calls, posix_spawn of container monitors (each holds a
// thread until the container is set up) and TLS key work share it; the default 4 threads
// make a node starting many pods at once wait in line.
process.env.UV_THREADPOOL_SIZE ??= "16";
