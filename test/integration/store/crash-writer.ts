// Child process of crash.test.ts: writes to the store as fast as it can and prints
// each acknowledged write on stdout, until it is killed.
//   node --import tsx crash-writer.ts <db path> <round>
//   c <key> <modRevision>            a create acknowledged (value: valueFor(key))
//   u <key> <modRevision> <n>        an update acknowledged (value: String(n))
import { openStore } from "../../../internal/store";

export function valueFor(key: string): string {
  return `${key}|`.repeat(8);
}

async function main(): Promise<void> {
  const [path, round] = process.argv.slice(2);
  const store = await openStore({ backend: "leveldb", path });
  const enc = new TextEncoder();
  process.stdout.write("ready\n");
  const worker = async (w: number) => {
    const counter = `/crash/counter/${round}/${w}`;
    let prev = await store.create(counter, enc.encode("0"));
    for (let n = 1; ; n++) {
      const key = `/crash/${round}/${w}/${n}`;
      const kv = await store.create(key, enc.encode(valueFor(key)));
      process.stdout.write(`c ${key} ${kv.modRevision}\n`);
      if (n % 4 === 0) {
        prev = await store.update(counter, enc.encode(String(n)), prev.modRevision);
        process.stdout.write(`u ${counter} ${prev.modRevision} ${n}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: 48 }, (_, w) => worker(w)));
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`crash-writer: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}
