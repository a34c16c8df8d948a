/** Flattening job configs to dotted paths, and finding the paths where they differ. */

export type Flat = Record<string, unknown>;

/** {adapter: {params: {r: 8}}} → {"adapter.params.r": 8}; lists stay whole values. */
export function flattenConfig(value: unknown, prefix = ""): Flat {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return prefix ? { [prefix]: value } : {};
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.length && prefix) return { [prefix]: {} };
  const out: Flat = {};
  for (const [k, v] of entries) Object.assign(out, flattenConfig(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

export function formatValue(v: unknown): string {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

export interface DiffRow {
  path: string;
  values: unknown[];
  differs: boolean;
}

/** One row per path in any config, in a stable order; `differs` when any two values disagree. */
export function diffConfigs(configs: readonly unknown[]): DiffRow[] {
  const flats = configs.map((c) => flattenConfig(c));
  const paths = [...new Set(flats.flatMap((f) => Object.keys(f)))].sort(byImportance);
  return paths.map((path) => {
    const values = flats.map((f) => f[path]);
    const shown = values.map(formatValue);
    return { path, values, differs: new Set(shown).size > 1 };
  });
}

const FIRST = ["name", "base_model", "dataset_id", "adapter.method", "adapter.placement", "adapter.params"];

function rank(path: string): number {
  const i = FIRST.findIndex((p) => path === p || path.startsWith(`${p}.`));
  return i === -1 ? FIRST.length : i;
}

function byImportance(a: string, b: string): number {
  return rank(a) - rank(b) || a.localeCompare(b);
}
