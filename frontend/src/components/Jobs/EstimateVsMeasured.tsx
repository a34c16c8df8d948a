import type { JobPublic } from "../../client";
import { formatBytes, formatCount, formatDuration, formatSeconds } from "../../format";
import { deviceLine, memoryParts } from "./JobEstimate";

/** How far the measured figure came from the estimate: "+12 %", or "—" until it is measured. */
function deviation(estimate: number | null | undefined, measured: number | null | undefined): string {
  if (estimate == null || measured == null || estimate === 0) return "—";
  const pct = (100 * (measured - estimate)) / estimate;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(Math.abs(pct) < 10 ? 1 : 0)} %`;
}

/** The estimate made when the job was created beside what the run measured. */
export default function EstimateVsMeasured({ job }: { readonly job: JobPublic }) {
  const e = job.estimate;
  if (!e) return null;
  const training = job.seconds_per_step != null ? job.seconds_per_step * job.step : null;
  const rows: [string, string, string, string, string?][] = [
    [
      "Trainable parameters",
      formatCount(e.trainable_parameters),
      formatCount(job.trainable_parameters),
      deviation(e.trainable_parameters, job.trainable_parameters),
    ],
    ["Peak memory", formatBytes(e.memory.total), formatBytes(job.peak_memory_bytes), deviation(e.memory.total, job.peak_memory_bytes), memoryParts(e)],
    ["Time per step", formatSeconds(e.seconds_per_step), formatSeconds(job.seconds_per_step), deviation(e.seconds_per_step, job.seconds_per_step)],
    [
      "Training time",
      formatDuration(e.total_seconds),
      formatDuration(training),
      deviation(e.total_seconds, training),
      "the training steps only; the wall time above also has model loading and evaluations",
    ],
    [
      "Precision",
      e.dtype,
      job.dtype ?? "—",
      job.dtype ? (job.dtype === e.dtype ? "same" : "differs") : "—",
      "precision auto: bfloat16 on a GPU and on a CPU with bf16 units (AMX, AVX-512 BF16), float32 otherwise",
    ],
  ];
  return (
    <div className="card" data-testid="estimate-vs-measured">
      <h3>Estimate vs measured</h3>
      <table className="estimate-vs-measured" aria-label="Estimate vs measured">
        <thead>
          <tr>
            <th />
            <th className="num">estimate</th>
            <th className="num">measured</th>
            <th className="num">difference</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, est, measured, diff, hint]) => (
            <tr key={label}>
              <td title={hint}>{label}</td>
              <td className="num" title={hint}>
                {est}
              </td>
              <td className="num">{measured}</td>
              <td className="num">{diff}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">Estimated for {deviceLine(e)}.</p>
    </div>
  );
}
