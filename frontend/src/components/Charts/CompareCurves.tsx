import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";

import type { JobAccuracy, JobMetrics, JobPublic } from "../../client";
import { formatAccuracy, formatLoss } from "../../format";
import ChartFrame from "./ChartFrame";
import { colourOf, mergeByStep } from "./series";

export interface ComparedRun {
  readonly job: Readonly<JobPublic>;
  readonly accuracy?: Readonly<JobAccuracy>;
  readonly metrics?: Readonly<JobMetrics>;
}

const key = (job: Readonly<JobPublic>) => `job${job.id}`;
const label = (job: Readonly<JobPublic>) => `#${job.id} ${job.method} · ${job.name}`;

/** Several jobs' accuracy on one benchmark, overlaid. */
export function CompareAccuracyCurves({
  runs,
  benchmark,
}: {
  readonly runs: readonly ComparedRun[];
  readonly benchmark: string;
}) {
  const withData = runs.filter((r) => (r.accuracy?.benchmarks[benchmark] ?? []).length > 0);
  const data = mergeByStep(
    Object.fromEntries(
      withData.map((r) => [key(r.job), (r.accuracy?.benchmarks[benchmark] ?? []).map((p) => ({ step: p.step, value: p.accuracy }))]),
    ),
  );
  if (!data.length) return <div className="chart-empty">None of these jobs evaluated on {benchmark}.</div>;
  return (
    <ChartFrame>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} />
        <YAxis domain={[0, 1]} tick={{ fontSize: 11 }} width={48} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} />
        <Tooltip formatter={(v) => formatAccuracy(Number(v))} labelFormatter={(s) => `step ${s}`} />
        <Legend />
        {runs.map((r, i) =>
          withData.includes(r) ? (
            <Line
              key={r.job.id}
              type="monotone"
              dataKey={key(r.job)}
              name={`${label(r.job)} (${r.job.scoring} rule)`}
              stroke={colourOf(i)}
              dot={{ r: 3 }}
              connectNulls
              isAnimationActive={false}
            />
          ) : null,
        )}
      </LineChart>
    </ChartFrame>
  );
}

/** Several jobs' training loss, overlaid. */
export function CompareLossCurves({ runs }: { readonly runs: readonly ComparedRun[] }) {
  const data = mergeByStep(
    Object.fromEntries(runs.map((r) => [key(r.job), (r.metrics?.train ?? []).map((p) => ({ step: p.step, value: p.loss }))])),
  );
  if (!data.length) return <div className="chart-empty">No loss reported by these jobs yet.</div>;
  return (
    <ChartFrame>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} />
        <YAxis tick={{ fontSize: 11 }} width={48} tickFormatter={(v: number) => v.toFixed(2)} />
        <Tooltip formatter={(v) => formatLoss(Number(v))} labelFormatter={(s) => `step ${s}`} />
        <Legend />
        {runs.map((r, i) => (
          <Line key={r.job.id} type="monotone" dataKey={key(r.job)} name={label(r.job)} stroke={colourOf(i)} dot={false} connectNulls isAnimationActive={false} />
        ))}
      </LineChart>
    </ChartFrame>
  );
}
