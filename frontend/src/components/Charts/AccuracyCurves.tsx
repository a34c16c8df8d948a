import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";

import type { JobAccuracy } from "../../client";
import { formatAccuracy } from "../../format";
import ChartFrame from "./ChartFrame";
import { colourOf, mergeByStep } from "./series";

/** Accuracy against the step, one line per benchmark. */
export default function AccuracyCurves({ accuracy }: { readonly accuracy: Readonly<JobAccuracy> }) {
  const names = Object.keys(accuracy.benchmarks).sort();
  const data = mergeByStep(
    Object.fromEntries(
      names.map((b) => [b, (accuracy.benchmarks[b] ?? []).map((p) => ({ step: p.step, value: p.accuracy }))]),
    ),
  );
  if (!data.length) return <div className="chart-empty">No evaluation yet.</div>;
  return (
    <ChartFrame>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} />
        <YAxis domain={[0, 1]} tick={{ fontSize: 11 }} width={48} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} />
        <Tooltip formatter={(v) => formatAccuracy(Number(v))} labelFormatter={(s) => `step ${s}`} />
        <Legend />
        {names.map((b, i) => (
          <Line
            key={b}
            type="monotone"
            dataKey={b}
            name={b}
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
