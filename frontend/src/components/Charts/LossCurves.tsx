import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";

import type { JobMetrics } from "../../client";
import { formatLearningRate, formatLoss } from "../../format";
import ChartFrame from "./ChartFrame";
import { mergeByStep } from "./series";

/** Training and validation loss against the optimiser step. */
export function LossCurves({ metrics }: { readonly metrics: Readonly<JobMetrics> }) {
  const data = mergeByStep({
    train: metrics.train.map((p) => ({ step: p.step, value: p.loss })),
    validation: metrics.validation.map((p) => ({ step: p.step, value: p.loss })),
  });
  if (!data.length) return <div className="chart-empty">No loss reported yet.</div>;
  return (
    <ChartFrame>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} />
        <YAxis tick={{ fontSize: 11 }} width={48} tickFormatter={(v: number) => v.toFixed(2)} />
        <Tooltip formatter={(v) => formatLoss(Number(v))} labelFormatter={(s) => `step ${s}`} />
        <Legend />
        <Line type="monotone" dataKey="train" name="train loss" stroke="#3b5bdb" dot={false} connectNulls isAnimationActive={false} />
        {metrics.validation.length > 0 && (
          <Line type="monotone" dataKey="validation" name="validation loss" stroke="#e8590c" connectNulls isAnimationActive={false} />
        )}
      </LineChart>
    </ChartFrame>
  );
}

/** The learning-rate schedule as it ran. */
export function LearningRateCurve({ metrics }: { readonly metrics: Readonly<JobMetrics> }) {
  const data = metrics.train.filter((p) => p.learning_rate !== null);
  if (!data.length) return <div className="chart-empty">No learning rate reported yet.</div>;
  return (
    <ChartFrame>
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11 }} />
        <YAxis tick={{ fontSize: 11 }} width={60} tickFormatter={(v: number) => formatLearningRate(v)} />
        <Tooltip formatter={(v) => formatLearningRate(Number(v))} labelFormatter={(s) => `step ${s}`} />
        <Line type="linear" dataKey="learning_rate" name="learning rate" stroke="#2b8a3e" dot={false} isAnimationActive={false} />
      </LineChart>
    </ChartFrame>
  );
}
