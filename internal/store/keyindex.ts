// In-memory index of the live keys: whether a key exists (the writer fails a create or
// an update here without reading LevelDB), the revision of its last write when known
// (0 for keys untouched since open; it finds the value among the events in memory), and
// the keys in sorted order (a list counts the keys after its page by binary search).
//
// Order is JavaScript string order (UTF-16 code units), which equals LevelDB's byte
// order of the UTF-8 keys for every key without characters beyond U+FFFF; Kubernetes
// keys are ASCII.

export class KeyIndex {
  private readonly meta = new Map<string, number>();
  private sorted: string[] = [];

  get size(): number {
    return this.meta.size;
  }

  /** Revision of the key's last write: 0 if unknown, undefined if the key does not exist. */
  modRevision(key: string): number | undefined {
    return this.meta.get(key);
  }

  has(key: string): boolean {
    return this.meta.has(key);
  }

  /** Loads keys that arrive in ascending order (the object records at open). */
  appendSorted(key: string): void {
    this.meta.set(key, 0);
    this.sorted.push(key);
  }

  /** Records the revision of a live key's last write (at open, from the events in memory). */
  setModRevision(key: string, modRevision: number): void {
    if (this.meta.has(key)) this.meta.set(key, modRevision);
  }

  /**
   * Applies one committed batch: `set` holds the keys written (new or updated),
   * `removed` the keys deleted. Few changes are spliced in; many are merged in one pass.
   */
  apply(set: Map<string, number>, removed: Set<string>): void {
    const added: string[] = [];
    for (const [key, m] of set) {
      if (!this.meta.has(key)) added.push(key);
      this.meta.set(key, m);
    }
    for (const key of removed) this.meta.delete(key);
    if (added.length + removed.size === 0) return;
    if (added.length + removed.size <= 16) {
      for (const key of removed) {
        const i = lowerBound(this.sorted, key);
        if (this.sorted[i] === key) this.sorted.splice(i, 1);
      }
      for (const key of added) this.sorted.splice(lowerBound(this.sorted, key), 0, key);
      return;
    }
    added.sort(compare);
    const out: string[] = new Array(this.sorted.length + added.length - removed.size);
    let n = 0;
    let j = 0;
    for (const key of this.sorted) {
      while (j < added.length && added[j] < key) out[n++] = added[j++];
      if (!removed.has(key)) out[n++] = key;
    }
    while (j < added.length) out[n++] = added[j++];
    out.length = n;
    this.sorted = out;
  }

  /** Number of keys that start with `prefix` and sort after `after` (all such keys if absent). */
  countAfter(prefix: string, after: string | undefined): number {
    let from = lowerBound(this.sorted, prefix);
    if (after !== undefined && after >= prefix) from = Math.max(from, upperBound(this.sorted, after));
    const end = prefix === "" ? this.sorted.length : lowerBound(this.sorted, stringPrefixEnd(prefix));
    return Math.max(0, end - from);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** First index whose key is >= `key`. */
function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `key`. */
function upperBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Smallest string greater than every string that starts with `prefix` (prefix non-empty). */
export function stringPrefixEnd(prefix: string): string {
  let i = prefix.length - 1;
  while (i >= 0 && prefix.charCodeAt(i) === 0xffff) i--;
  if (i < 0) return "\uffff\uffff"; // unreachable for real keys
  return prefix.slice(0, i) + String.fromCharCode(prefix.charCodeAt(i) + 1);
}
