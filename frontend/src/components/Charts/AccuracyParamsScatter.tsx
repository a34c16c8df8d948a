import { CartesianGrid, LabelList, Legend, Scatter, ScatterChart, Tooltip, XAxis, YAxis, ZAxis } from "recharts";

import type { LeaderboardRow } from "../../client";
import { formatCount } from "../../format";
import ChartFrame from "./ChartFrame";

/** "#12 lora-r8": the job's number and name, cut to fit beside its point. */
function shortLabel(r: Readonly<LeaderboardRow>): string {
  const name = r.job_name.length > 18 ? `${r.job_name.slice(0, 17)}…` : r.job_name;
  return `#${r.job_id} ${name}`;
}

/** Leaderboard rows as accuracy (%) against trainable parameters on a log axis, each point labelled. */
export default function AccuracyParamsScatter({ rows }: { readonly rows: readonly Readonly<LeaderboardRow>[] }) {
  const points = rows
    .filter((r) => r.trainable_parameters !== null && r.trainable_parameters > 0)
    .map((r) => ({
      x: r.trainable_parameters as number,
      y: r.accuracy,
      name: `#${r.job_id} ${r.job_name} (${r.method})`,
      // each point says which run it is (the tooltip alone needs a hover per point)
      label: shortLabel(r),
    }));
  const xs = points.map((p) => p.x);
  // A log axis padded by a factor of two each side, so a few close points do not sit on the edges.
  const domain: [number, number] = [Math.min(...xs) / 2, Math.max(...xs) * 2];
  if (!points.length) {
    return <div className="chart-empty">Finished jobs appear here once they have a parameter count.</div>;
  }
  return (
    <ChartFrame height={260}>
      <ScatterChart margin={{ top: 8, right: 120, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis
          dataKey="x"
          type="number"
          scale="log"
          domain={domain}
          allowDataOverflow
          name="trainable parameters"
          tickFormatter={(v: number) => formatCount(v)}
          tick={{ fontSize: 11 }}
        />
        <YAxis dataKey="y" type="number" name="accuracy" unit="%" domain={[0, 100]} tick={{ fontSize: 11 }} width={48} />
        <ZAxis range={[60, 60]} />
        <Tooltip
          formatter={(v, name) => (name === "accuracy" ? `${Number(v).toFixed(1)} %` : formatCount(Number(v)))}
          labelFormatter={() => ""}
        />
        <Legend />
        <Scatter name="jobs (x: trainable parameters, log scale)" data={points} fill="#3b5bdb" isAnimationActive={false}>
          <LabelList dataKey="label" position="right" offset={8} style={{ fontSize: 11, fill: "#1d2330" }} />
        </Scatter>
      </ScatterChart>
    </ChartFrame>
  );
}
