// Duplicate keys in a raw JSON body. JSON.parse keeps the last of them silently;
// Kubernetes' strict decoder reports each (`duplicate field "replicas"`), so the
// server scans the raw text once before parsing it.

/**
 * The names of keys that appear twice in the same JSON object, in the order their
 * second occurrence is met. Malformed JSON yields what was found before the error
 * (JSON.parse reports the syntax error itself).
 */
export function findDuplicateFields(raw: string): string[] {
  const found: string[] = [];
  let i = 0;
  const n = raw.length;
  const ws = () => {
    while (i < n && (raw[i] === " " || raw[i] === "\n" || raw[i] === "\r" || raw[i] === "\t")) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < n && raw[i] !== '"') i += raw[i] === "\\" ? 2 : 1;
    i++;
    try {
      return JSON.parse(raw.slice(start, i)) as string;
    } catch {
      return raw.slice(start + 1, i - 1);
    }
  };
  const value = (depth: number): void => {
    if (depth > 512) throw new Error("nesting too deep");
    ws();
    const c = raw[i];
    if (c === "{") {
      i++;
      const keys = new Set<string>();
      ws();
      if (raw[i] === "}") {
        i++;
        return;
      }
      while (i < n) {
        ws();
        if (raw[i] !== '"') return;
        const key = str();
        if (keys.has(key)) found.push(key);
        keys.add(key);
        ws();
        if (raw[i] !== ":") return;
        i++;
        value(depth + 1);
        ws();
        if (raw[i] === ",") i++;
        else if (raw[i] === "}") {
          i++;
          return;
        } else return;
      }
    } else if (c === "[") {
      i++;
      ws();
      if (raw[i] === "]") {
        i++;
        return;
      }
      while (i < n) {
        value(depth + 1);
        ws();
        if (raw[i] === ",") i++;
        else if (raw[i] === "]") {
          i++;
          return;
        } else return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < n && !",}] \n\r\t".includes(raw[i])) i++;
    }
  };
  try {
    value(0);
  } catch {
    // Too deep to be a real manifest; JSON.parse will have its say.
  }
  return found;
}
