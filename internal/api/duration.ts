// Human durations exactly as apimachinery's pkg/util/duration prints them. The Age, Duration
// and "(5m ago)" cells of `kubectl get` tables are computed on the server with HumanDuration,
// so these strings are what users read; they must match a real cluster byte for byte.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Go's int(x): truncation toward zero. */
function trunc(x: number): number {
  return Math.trunc(x);
}

/**
 * apimachinery duration.HumanDuration: ~2-3 significant figures ("42s", "2m3s", "15m", "3h5m",
 * "10h", "3d4h", "30d", "2y10d", "9y"). Up to 2 s in the future reads "0s" (clock skew);
 * further in the future is "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${trunc(hours / 24)}d` : `${trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = trunc(hours / 24) % 365;
    const y = trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${trunc(hours / 24 / 365)}y`;
}

/** apimachinery duration.ShortHumanDuration: one unit only ("42s", "5m", "3h", "2d", "1y"). */
export function shortHumanDuration(ms: number): string {
  const seconds = trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60) return `${seconds}s`;
  const minutes = trunc(ms / MINUTE);
  if (minutes < 60) return `${minutes}m`;
  const hours = trunc(ms / HOUR);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${trunc(hours / 24)}d`;
  return `${trunc(ms / HOUR / 24 / 365)}y`;
}

/** Milliseconds since the epoch for an RFC 3339 timestamp, or undefined when unset or unparsable. */
export function parseTimestamp(ts: unknown): number | undefined {
  if (typeof ts !== "string" || ts === "") return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The Age cell: HumanDuration of now - timestamp, "<unknown>" when the timestamp is unset
 * (upstream translateTimestampSince).
 */
export function formatAge(timestamp: unknown, now: number): string {
  const t = parseTimestamp(timestamp);
  if (t === undefined) return "<unknown>";
  return humanDuration(now - t);
}
