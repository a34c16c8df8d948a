import { useState } from "react";
import {
  CartesianGrid,
  LabelList,
  Legend,
  Line,
  LineChart,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
  ZAxis,
} from "recharts";

import type { StudyPlotPoint, StudyPlotPublic } from "../../client";
import { formatBytes, formatCount, formatDuration } from "../../format";
import ChartFrame from "../Charts/ChartFrame";
import { colourOf, mergeByStep } from "../Charts/series";

type Cost = "trainable_parameters" | "peak_memory_bytes" | "wall_seconds";

const COSTS: ReadonlyArray<{ key: Cost; title: string; format: (v: number) => string; log: boolean }> = [
  { key: "trainable_parameters", title: "Accuracy against trainable parameters", format: formatCount, log: true },
  { key: "peak_memory_bytes", title: "Accuracy against peak memory", format: formatBytes, log: false },
  { key: "wall_seconds", title: "Accuracy against wall time", format: formatDuration, log: false },
];

const cellName = (p: StudyPlotPoint, axes: readonly string[]) => axes.map((a) => p.labels[a]).join(", ");

/** Mean of the numbers, or null. */
function mean(xs: readonly number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

/**
 * Average accuracy (%) against one swept axis: one point per value of it (in the grid's order),
 * each the mean over the other axes' cells and seeds; one line per benchmark.
 */
export function SweepChart({ plot, axis }: { readonly plot: StudyPlotPublic; readonly axis: string }) {
  const order: string[] = [];
  for (const p of plot.data) {
    const label = p.labels[axis];
    if (label !== undefined && !order.includes(label)) order.push(label);
  }
  const done = plot.data.filter((p) => p.average !== null);
  const rows = order.map((label) => {
    const at = done.filter((p) => p.labels[axis] === label);
    const row: Record<string, string | number | null> = { label };
    for (const b of plot.benchmarks) row[b] = mean(at.map((p) => p.accuracy[b]).filter((v): v is number => v !== undefined));
    row.average = mean(at.map((p) => p.average as number));
    return row;
  });
  if (!done.length) return <div className="chart-empty">No cell has finished yet.</div>;
  return (
    <ChartFrame>
      <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="label" type="category" tick={{ fontSize: 11 }} />
        <YAxis domain={[0, 100]} unit="%" tick={{ fontSize: 11 }} width={48} />
        <Tooltip formatter={(v) => (v === null ? "—" : `${Number(v).toFixed(1)} %`)} />
        <Legend />
        {[...plot.benchmarks, "average"].map((b, i) => (
          <Line
            key={b}
            dataKey={b}
            name={b}
            stroke={colourOf(i)}
            strokeDasharray={b === "average" ? "5 3" : undefined}
            dot={{ r: 4 }}
            connectNulls
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </ChartFrame>
  );
}

/** Average accuracy against a cost; the cells on its Pareto front marked and joined. */
export function ParetoChart({
  plot,
  cost,
  title,
  format,
  log,
}: {
  readonly plot: StudyPlotPublic;
  readonly cost: Cost;
  readonly title: string;
  readonly format: (v: number) => string;
  readonly log: boolean;
}) {
  const points = plot.data
    .filter((p) => p.average !== null && p[cost] !== null && (p[cost] as number) > 0)
    .map((p) => ({ x: p[cost] as number, y: p.average as number, label: cellName(p, plot.axes), front: Boolean(p.pareto[cost]) }));
  if (!points.length) return <div className="chart-empty">{title}: no cell has finished yet.</div>;
  const front = points.filter((p) => p.front).sort((a, b) => a.x - b.x);
  const others = points.filter((p) => !p.front);
  const xs = points.map((p) => p.x);
  const domain: [number, number] = log
    ? [Math.min(...xs) / 2, Math.max(...xs) * 2]
    : [Math.min(...xs) * 0.9, Math.max(...xs) * 1.1];
  return (
    <figure className="chart-card" aria-label={title}>
      <figcaption>{title}</figcaption>
      <ChartFrame height={260}>
        <ScatterChart margin={{ top: 20, right: 28, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            dataKey="x"
            type="number"
            scale={log ? "log" : "linear"}
            domain={domain}
            allowDataOverflow
            tickFormatter={(v: number) => format(v)}
            tick={{ fontSize: 11 }}
          />
          <YAxis dataKey="y" type="number" unit="%" domain={[0, 100]} tick={{ fontSize: 11 }} width={48} />
          <ZAxis range={[60, 60]} />
          <Tooltip formatter={(v, name) => (name === "y" ? `${Number(v).toFixed(1)} %` : format(Number(v)))} />
          <Legend />
          <Scatter name="Pareto front" data={front} fill="#e8590c" line isAnimationActive={false}>
            <LabelList dataKey="label" position="top" offset={8} style={{ fontSize: 11, fill: "#1d2330" }} />
          </Scatter>
          <Scatter name="other cells" data={others} fill="#3b5bdb" isAnimationActive={false}>
            <LabelList dataKey="label" position="top" offset={8} style={{ fontSize: 11, fill: "#6b7280" }} />
          </Scatter>
        </ScatterChart>
      </ChartFrame>
    </figure>
  );
}

/** Every cell's accuracy curve on one benchmark, overlaid. */
export function StudyCurves({ plot, benchmark }: { readonly plot: StudyPlotPublic; readonly benchmark: string }) {
  const cells = plot.data.filter((p) => (p.curves[benchmark] ?? []).length > 0);
  const data = mergeByStep(
    Object.fromEntries(cells.map((p) => [`c${p.index}`, (p.curves[benchmark] ?? []).map((c) => ({ step: c.step, value: c.accuracy }))])),
  );
  if (!data.length) return <div className="chart-empty">No curve on {benchmark} yet.</div>;
  return (
    <ChartFrame>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} />
        <YAxis domain={[0, 100]} unit="%" tick={{ fontSize: 11 }} width={48} />
        <Tooltip formatter={(v) => `${Number(v).toFixed(1)} %`} labelFormatter={(s) => `step ${s}`} />
        <Legend />
        {cells.map((p, i) => (
          <Line
            key={p.index}
            dataKey={`c${p.index}`}
            name={`#${p.index} ${cellName(p, plot.axes)}`}
            stroke={colourOf(i)}
            dot={{ r: 3 }}
            connectNulls
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </ChartFrame>
  );
}

/** The study's plots: the sweep, accuracy against each cost with its Pareto front, the curves. */
export default function StudyPlots({ plot }: { readonly plot: StudyPlotPublic }) {
  const swept = plot.axes.filter((a) => a !== plot.seed_axis);
  const [axis, setAxis] = useState(swept[0] ?? "");
  const [benchmark, setBenchmark] = useState(plot.benchmarks[0] ?? "");
  const anyCurve = plot.data.some((p) => Object.values(p.curves).some((c) => c.length > 0));
  // One note instead of five empty frames until the first cell has a score.
  if (!anyCurve && plot.data.every((p) => p.average === null)) {
    return <div className="chart-empty">No cell has finished yet: the plots appear as cells end.</div>;
  }
  return (
    <>
      {swept.length > 0 && (
        <figure className="chart-card" aria-label="Accuracy against the swept value">
          <figcaption className="row">
            Accuracy against{" "}
            <select aria-label="swept axis" value={axis} onChange={(e) => setAxis(e.target.value)}>
              {swept.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
          </figcaption>
          <SweepChart plot={plot} axis={axis || (swept[0] as string)} />
        </figure>
      )}
      <div className="grid-2">
        {COSTS.map((c) => (
          <ParetoChart key={c.key} plot={plot} cost={c.key} title={c.title} format={c.format} log={c.log} />
        ))}
      </div>
      {plot.benchmarks.length > 0 && (
        <figure className="chart-card" aria-label="Accuracy curves of the cells">
          <figcaption className="row">
            Accuracy curves of the cells on{" "}
            <select aria-label="curve benchmark" value={benchmark} onChange={(e) => setBenchmark(e.target.value)}>
              {plot.benchmarks.map((b) => (
                <option key={b}>{b}</option>
              ))}
            </select>
          </figcaption>
          <StudyCurves plot={plot} benchmark={benchmark || (plot.benchmarks[0] as string)} />
        </figure>
      )}
    </>
  );
}
