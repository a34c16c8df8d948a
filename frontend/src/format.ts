/** Number and time formatting shared by every screen. */

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });
const integer = new Intl.NumberFormat("en");

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return n >= 100_000 ? compact.format(n) : integer.format(n);
}

export function formatInteger(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : integer.format(n);
}

/** Accuracy is a fraction 0..1 in the API. */
export function formatAccuracy(a: number | null | undefined): string {
  return a === null || a === undefined ? "—" : `${(a * 100).toFixed(1)} %`;
}

export function formatPercent(p: number | null | undefined, digits = 3): string {
  if (p === null || p === undefined) return "—";
  return `${p < 0.001 && p > 0 ? p.toExponential(1) : p.toFixed(p >= 1 ? 2 : digits)} %`;
}

export function formatBytes(b: number | null | undefined): string {
  if (b === null || b === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "evaluating svamp 12/20" while a running job evaluates; null otherwise. */
export function evalProgressText(job: {
  status: string;
  phase?: string | null;
  eval_progress?: { benchmark: string; done: number; total: number } | null;
}): string | null {
  const p = job.eval_progress;
  if (job.status !== "running" || job.phase !== "evaluating" || !p) return null;
  return `evaluating ${p.benchmark} ${p.done}/${p.total}`;
}

/** Seconds with the precision a step time needs (0.42 s, 5.5 s), minutes beyond a minute. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  return formatDuration(seconds);
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function formatLoss(x: number | null | undefined): string {
  return x === null || x === undefined ? "—" : x.toFixed(4);
}

export function formatLearningRate(x: number | null | undefined): string {
  return x === null || x === undefined ? "—" : x.toExponential(2);
}
