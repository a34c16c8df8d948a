import { keepPreviousData, useQuery } from "@tanstack/react-query";

import { formatInteger } from "../../format";
import { trainingPlanQuery } from "../../queries";

const plural = (n: number, word: string) => `${formatInteger(n)} ${word}${n === 1 ? "" : "s"}`;

/**
 * What the training settings will do with the chosen dataset, as the worker will do it (the API
 * answers from the engine's schedule): rows held out and trained on, optimiser steps, warm-up,
 * and the warnings of a plan that cannot train well (warm-up as long as training, too few steps).
 * While a field holds a refused value the last good plan stays (the field says what is wrong).
 */
export default function TrainingPlanSummary({
  datasetId,
  training,
}: {
  readonly datasetId: number | null;
  /** the training section as the form would send it (empty fields left out) */
  readonly training: Readonly<Record<string, unknown>>;
}) {
  const plan = useQuery({ ...trainingPlanQuery(datasetId, { ...training }), placeholderData: keepPreviousData });
  if (datasetId === null) {
    return <p className="muted small training-plan">Pick a dataset to see the training steps it gives.</p>;
  }
  const p = plan.data;
  if (!p) return null;
  return (
    <div className="training-plan" data-testid="training-plan" aria-live="polite">
      <p className="small">
        <strong>{formatInteger(p.rows)} rows</strong>: {formatInteger(p.validation_rows)} held out for validation,{" "}
        <strong data-testid="plan-training-rows">{formatInteger(p.training_rows)} trained on</strong> ·{" "}
        {plural(p.steps_per_epoch, "step")} per epoch ·{" "}
        <strong data-testid="plan-total-steps">{plural(p.total_steps, "step")} in all</strong> · warm-up{" "}
        {plural(p.warmup_steps, "step")}
      </p>
      {p.warnings.length > 0 && (
        <ul className="warn-box small" role="alert" data-testid="plan-warnings">
          {p.warnings.map((w) => (
            <li key={w}>{w[0]?.toUpperCase() + w.slice(1)}.</li>
          ))}
        </ul>
      )}
    </div>
  );
}
