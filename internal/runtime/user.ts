// Resolves a container's user ("uid", "uid:gid", "name", "name:group") against the
// image's /etc/passwd and /etc/group, read from the topmost layer that has them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

function findInLayers(layers: string[], file: string): string {
  for (let i = layers.length - 1; i >= 0; i--) {
    const p = join(layers[i], file);
    if (existsSync(p)) {
      try {
        return readFileSync(p, "utf8");
      } catch {
        return "";
      }
    }
  }
  return "";
}

export function resolveUser(user: string, layers: string[]): { uid: number; gid: number; groups: number[] } {
  if (!user) return { uid: 0, gid: 0, groups: [] };
  const [u, g] = user.split(":", 2);
  const passwd = findInLayers(layers, "etc/passwd")
    .split("\n")
    .map((l) => l.split(":"));
  const groupLines = findInLayers(layers, "etc/group")
    .split("\n")
    .map((l) => l.split(":"));
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const ent = passwd.find((p) => p[2] === u);
    if (ent) gid = Number(ent[3]);
  } else {
    const ent = passwd.find((p) => p[0] === u);
    if (!ent)
      throw Object.assign(new Error(`user "${u}" not found in the image's /etc/passwd`), {
        code: "InvalidArgument",
      });
    uid = Number(ent[2]);
    gid = Number(ent[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const ent = groupLines.find((p) => p[0] === g);
      if (!ent)
        throw Object.assign(new Error(`group "${g}" not found in the image's /etc/group`), {
          code: "InvalidArgument",
        });
      gid = Number(ent[2]);
    }
  }
  const name = passwd.find((p) => Number(p[2]) === uid)?.[0];
  const groups = name
    ? groupLines.filter((p) => (p[3] ?? "").split(",").includes(name)).map((p) => Number(p[2]))
    : [];
  return { uid, gid: gid ?? 0, groups };
}
