import type { JobEstimatePublic } from "../../client";
import { formatBytes, formatCount, formatDuration, formatPercent, formatSeconds } from "../../format";

const PARTS = [
  ["weights", "frozen weights"],
  ["adapter", "adapter"],
  ["gradients", "gradients"],
  ["optimizer", "optimizer state"],
  ["activations", "activations"],
  ["runtime", "runtime"],
] as const;

/** Where the device figure comes from, in words. */
export function deviceLine(estimate: JobEstimatePublic): string {
  const d = estimate.device;
  const source = d.source === "worker" ? `as ${d.worker ?? "a worker"} measured it` : "measured on this server (no worker has reported yet)";
  return `${d.name} (${d.kind}, ${estimate.dtype}), ${(d.matmul_flops / 1e9).toFixed(0)} GFLOP/s matmul, ${source}`;
}

/** The memory parts that hold something, as "weights 513 MiB · activations 826 MiB · …". */
export function memoryParts(estimate: JobEstimatePublic): string {
  return PARTS.filter(([key]) => estimate.memory[key] > 0)
    .map(([key, label]) => `${label} ${formatBytes(estimate.memory[key])}`)
    .join(" · ");
}

/**
 * The estimate before launch (POST /estimates): parameters, the peak memory of a training step
 * with its parts, time per step and in total. For every method: it is the engine's model.
 */
export default function JobEstimate({
  estimate,
  pending,
  error,
}: {
  readonly estimate: JobEstimatePublic | undefined;
  readonly pending?: boolean;
  readonly error?: string | null;
}) {
  if (error) return <p className="muted small" data-testid="job-estimate">No estimate: {error}</p>;
  if (!estimate)
    return (
      <p className="muted small" data-testid="job-estimate">
        {pending ? "Estimating…" : "Pick a base model and a method for an estimate."}
      </p>
    );
  const parts = memoryParts(estimate);
  return (
    <div className="job-estimate" data-testid="job-estimate">
      <dl className="estimate-figures">
        <div>
          <dt>Trainable parameters</dt>
          <dd data-testid="estimate-params">
            {formatCount(estimate.trainable_parameters)} <span className="muted">({formatPercent(estimate.trainable_percent)} of {formatCount(estimate.total_parameters)})</span>
          </dd>
        </div>
        <div>
          <dt>Peak memory</dt>
          <dd data-testid="estimate-memory" title={parts}>
            {formatBytes(estimate.memory.total)}
          </dd>
        </div>
        <div>
          <dt>Time per step</dt>
          <dd data-testid="estimate-step">{formatSeconds(estimate.seconds_per_step)}</dd>
        </div>
        <div>
          <dt>Total</dt>
          <dd data-testid="estimate-total">
            {estimate.total_seconds != null ? (
              <>
                {formatDuration(estimate.total_seconds)} <span className="muted">({estimate.total_steps} steps)</span>
              </>
            ) : (
              <span className="muted">pick a dataset</span>
            )}
          </dd>
        </div>
      </dl>
      <p className="small muted estimate-parts" data-testid="estimate-parts">
        {parts}
      </p>
      <p className="small muted">
        {estimate.tokens_per_step.toLocaleString("en")} tokens per step, micro-batches of {estimate.sequence_tokens} tokens per example; on {deviceLine(estimate)}.
        {estimate.notes.length > 0 && ` ${estimate.notes.join("; ")}.`}
      </p>
    </div>
  );
}
