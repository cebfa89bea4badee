{
  "targets": [
    {
      "target_name": "tsk_native",
      "sources": ["src/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall"]
    },
    {
      "target_name": "tsk-monitor",
      "type": "executable",
      "sources": ["src/monitor.c", "src/monitor-setup.c", "src/monitor-exec.c", "src/monitor-sandbox.c", "src/seccomp.c"],
      "cflags": ["-std=gnu11", "-Os", "-Wall", "-fno-asynchronous-unwind-tables", "-Wno-format-truncation"],
      "ldflags": ["-static", "-Wl,--gc-sections", "-s"]
    }
  ]
}
