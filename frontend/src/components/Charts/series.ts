/** Shared by the charts: colours and merging several series onto one step axis. */

export const PALETTE = [
  "#3b5bdb",
  "#e8590c",
  "#2b8a3e",
  "#c2255c",
  "#7048e8",
  "#0c8599",
  "#f08c00",
  "#495057",
];

export const colourOf = (i: number): string => PALETTE[i % PALETTE.length] as string;

export interface Point {
  step: number;
  value: number | null;
}

export type StepRow = { step: number } & Record<string, number | null>;

/** {a: [{step, value}], b: [...]} → [{step, a, b}, ...] sorted by step (missing values absent). */
export function mergeByStep(series: Readonly<Record<string, readonly Point[]>>): StepRow[] {
  const rows = new Map<number, StepRow>();
  for (const [key, points] of Object.entries(series)) {
    for (const p of points) {
      const row = rows.get(p.step) ?? ({ step: p.step } as StepRow);
      row[key] = p.value;
      rows.set(p.step, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.step - b.step);
}
