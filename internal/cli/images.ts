// `tsk images import|ls|rm|pull|prune`: the node's image store from the command line,
// with docker's output shapes (`docker load`, `docker images`, `docker rmi`).
import { basename } from "node:path";
import { familiarName, type ImageSummary, openImageStore, type Progress, parseReference } from "../images";
import { type FlagSpec, parseFlags, UsageError, usage } from "./flags";

const common: FlagSpec[] = [
  {
    name: "data-dir",
    short: "d",
    type: "string",
    default: "/var/lib/tsk",
    help: "folder holding tsk's state",
  },
  { name: "help", short: "h", type: "bool", help: "show this help" },
];

const subcommands: Record<string, { args: string; summary: string; flags: FlagSpec[] }> = {
  import: {
    args: "FILE...",
    summary: "Import images from docker save or OCI archives (.tar, .tar.gz).",
    flags: [],
  },
  ls: {
    args: "",
    summary: "List images.",
    flags: [
      { name: "quiet", short: "q", type: "bool", help: "only show image ids" },
      { name: "no-trunc", type: "bool", help: "show full image ids" },
    ],
  },
  rm: {
    args: "IMAGE...",
    summary: "Remove images (by name, id or id prefix) and the layers no image uses any more.",
    flags: [],
  },
  pull: {
    args: "IMAGE",
    summary: "Pull an image from an OCI distribution registry.",
    flags: [
      {
        name: "plain-http",
        type: "bool",
        help: "talk HTTP, not HTTPS, to the registry (default only for loopback)",
      },
      { name: "username", type: "string", help: "registry user name" },
      { name: "password", type: "string", help: "registry password or token" },
    ],
  },
  prune: { args: "", summary: "Remove layers and blobs no image uses.", flags: [] },
};

function help(): string {
  const lines = [
    "Usage: tsk images COMMAND [FLAGS]",
    "",
    "Manage the images on this machine.",
    "",
    "Commands:",
  ];
  for (const [name, s] of Object.entries(subcommands))
    lines.push(`  ${`${name} ${s.args}`.padEnd(18)} ${s.summary}`);
  lines.push("", "Run 'tsk images COMMAND --help' for a command's flags.");
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    process.stdout.write(`${help()}\n`);
    return sub === undefined ? 2 : 0;
  }
  const spec = subcommands[sub === "list" ? "ls" : sub === "rmi" || sub === "remove" ? "rm" : sub];
  if (!spec) throw new UsageError(`unknown command "${sub}" (want import, ls, rm, pull or prune)`);
  const specs = [...common, ...spec.flags];
  const { values, rest: args } = parseFlags(specs, rest);
  const name = sub === "list" ? "ls" : sub === "rmi" || sub === "remove" ? "rm" : sub;
  if (values.help) {
    process.stdout.write(`${usage(`tsk images ${name} [FLAGS] ${spec.args}`, spec.summary, specs)}\n`);
    return 0;
  }
  const store = await openImageStore({ dataDir: String(values["data-dir"]) });
  const fail = (err: unknown): number => {
    process.stderr.write(`tsk images ${name}: ${(err as Error).message}\n`);
    return 1;
  };
  switch (name) {
    case "import": {
      if (args.length === 0) throw new UsageError("import needs at least one archive");
      let status = 0;
      for (const file of args) {
        const bar = progressBar(basename(file));
        try {
          const images = await store.importArchive(file, { onProgress: bar.update });
          bar.end();
          for (const img of images) {
            if (img.names.length === 0) process.stdout.write(`Loaded image ID: ${img.id}\n`);
            for (const n of img.names) process.stdout.write(`Loaded image: ${familiarName(n)}\n`);
          }
        } catch (err) {
          bar.end();
          status = fail(err);
        }
      }
      return status;
    }
    case "ls": {
      if (args.length > 0) throw new UsageError(`ls takes no arguments (got ${args.join(" ")})`);
      const images = await store.list();
      if (values.quiet) {
        const ids = [...new Set(images.map((i) => shortId(i.id, Boolean(values["no-trunc"]))))];
        process.stdout.write(ids.map((i) => `${i}\n`).join(""));
        return 0;
      }
      process.stdout.write(formatImageTable(images, { noTrunc: Boolean(values["no-trunc"]) }));
      return 0;
    }
    case "rm": {
      if (args.length === 0) throw new UsageError("rm needs at least one image");
      let status = 0;
      for (const ref of args) {
        try {
          const r = await store.remove(ref);
          for (const n of r.untagged) process.stdout.write(`Untagged: ${familiarName(n)}\n`);
          if (r.deleted) process.stdout.write(`Deleted: ${r.deleted}\n`);
          if (r.pruned.layers > 0) {
            process.stdout.write(
              `Removed ${r.pruned.layers} unused layer(s), ${humanSize(r.pruned.bytes)} freed\n`,
            );
          }
        } catch (err) {
          status = fail(err);
        }
      }
      return status;
    }
    case "pull": {
      if (args.length !== 1) throw new UsageError("pull needs exactly one image");
      const bar = progressBar(args[0]);
      try {
        const r = await store.pull(args[0], {
          onProgress: bar.update,
          ...(values["plain-http"] ? { plainHttp: true } : {}),
          ...(values.username !== undefined
            ? { username: String(values.username), password: String(values.password ?? "") }
            : {}),
        });
        bar.end();
        process.stdout.write(
          `${familiarName(r.names[0] ?? args[0])}: pulled ${r.fetched.length} of ${r.layers.length} layer(s)\n`,
        );
        process.stdout.write(`Digest: ${r.manifestDigest}\n`);
        return 0;
      } catch (err) {
        bar.end();
        return fail(err);
      }
    }
    case "prune": {
      const r = await store.prune();
      process.stdout.write(
        `Removed ${r.layers} layer(s) and ${r.blobs} blob(s), ${humanSize(r.bytes)} freed\n`,
      );
      return 0;
    }
  }
  return 2;
}

function shortId(id: string, noTrunc: boolean): string {
  return noTrunc ? id : id.slice("sha256:".length, "sha256:".length + 12);
}

/** The `docker images` table: one row per name, "<none>" for an image without one. */
export function formatImageTable(
  images: ImageSummary[],
  opts: { noTrunc?: boolean; now?: Date } = {},
): string {
  const rows: string[][] = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]];
  const now = opts.now ?? new Date();
  for (const img of images) {
    const created = img.created ? humanAge(new Date(img.created), now) : "N/A";
    const id = shortId(img.id, Boolean(opts.noTrunc));
    const size = humanSize(img.size);
    if (img.names.length === 0) rows.push(["<none>", "<none>", id, created, size]);
    for (const n of [...img.names].sort()) {
      const [repo, tag] = splitName(n);
      rows.push([repo, tag, id, created, size]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => `${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] + 3))).join("")}\n`)
    .join("");
}

function splitName(name: string): [string, string] {
  try {
    const r = parseReference(name);
    const repo = r.domain === "docker.io" ? r.path.replace(/^library\//, "") : `${r.domain}/${r.path}`;
    return [repo, r.tag ?? "<none>"];
  } catch {
    return [name, "<none>"];
  }
}

/** Sizes as docker prints them: decimal units, 3 significant digits ("2.14MB"). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** "3 weeks ago", as docker's CREATED column reads. */
export function humanAge(then: Date, now: Date): string {
  const s = Math.max(0, (now.getTime() - then.getTime()) / 1000);
  const ago = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  if (s < 1) return "Less than a second ago";
  if (s < 60) return ago(Math.floor(s), "second");
  if (s < 3600) return ago(Math.max(1, Math.round(s / 60)), "minute");
  if (s < 86400 * 2) return ago(Math.round(s / 3600), "hour");
  if (s < 86400 * 14) return ago(Math.floor(s / 86400), "day");
  if (s < 86400 * 60) return ago(Math.floor(s / (86400 * 7)), "week");
  if (s < 86400 * 365 * 2) return ago(Math.floor(s / (86400 * 30)), "month");
  return ago(Math.floor(s / (86400 * 365)), "year");
}

/** A one-line progress bar on stderr when it is a terminal; silent otherwise. */
function progressBar(label: string): { update: (p: Progress) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let drawn = false;
  const draw = (p: Progress) => {
    const width = 30;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    const fill = Math.round(frac * width);
    const bar = `${"=".repeat(Math.max(0, fill - 1))}${fill > 0 ? ">" : ""}${" ".repeat(width - fill)}`;
    const cols = process.stderr.columns ?? 100;
    const line = `${label}: ${p.message} [${bar}] ${Math.floor(frac * 100)}% ${humanSize(p.done)}/${humanSize(p.total)}`;
    process.stderr.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
    drawn = true;
  };
  return {
    update: (p) => {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      draw(p);
    },
    end: () => {
      if (tty && drawn) process.stderr.write("\n");
    },
  };
}
