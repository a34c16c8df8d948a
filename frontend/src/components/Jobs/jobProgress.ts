/**
 * What a job is doing, in words, with the progress of THAT phase — never the training bar at
 * 100 % while the final evaluation runs, nor a training ETA presented as the job's.
 *
 * Built on the job's fields today (status, phase, step, total_steps, eta_seconds,
 * queue_position). The evaluation's own progress (examples done of total, per benchmark) and an
 * ETA that includes the evaluations come from the API's evaluation-progress fields when the job
 * has them: `evaluationProgress` is the one place that reads them.
 */
import type { JobPublic } from "../../client";
import { formatDuration, formatInteger } from "../../format";

export interface PhaseProgress {
  /** the phase in words: "training", "final evaluation", "queued · next to start" */
  readonly label: string;
  /** progress of this phase, 0..1; null when it is not known (an indeterminate bar) */
  readonly fraction: number | null;
  /** the figures behind it: "step 12 of 60", "43 of 100 examples" */
  readonly detail: string;
  /** time left, in words, or null when not known */
  readonly eta: string | null;
}

const PHASE_WORDS: Record<string, string> = {
  starting: "starting",
  loading_model: "loading the model",
  preparing_data: "preparing the data",
  saving: "saving the adapter",
};

function ordinal(n: number): string {
  const s = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return `${n}${s[(v - 20) % 10] ?? s[v] ?? s[0]}`;
}

/**
 * The evaluation's own progress (examples done of total, and the time left including the
 * evaluations to come) once the API reports it per job; null until then, and the evaluating
 * phase shows an indeterminate bar with the benchmarks' names instead of a made-up figure.
 * MERGE NOTE: the evaluation-progress fields of JobPublic (branch h-evalspeed) are read here.
 */
export function evaluationProgress(
  job: JobPublic,
): { benchmark: string; done: number; total: number; eta: number | null } | null {
  const p = job.eval_progress;
  if (!p || p.total <= 0) return null;
  // the job's ETA counts the evaluations still to come (worker/engine/eta.py)
  return { benchmark: p.benchmark, done: p.done, total: p.total, eta: job.eta_seconds ?? null };
}

export function phaseProgress(job: JobPublic): PhaseProgress {
  const total = job.total_steps ?? null;
  const steps = total ? `step ${formatInteger(job.step)} of ${formatInteger(total)}` : `step ${formatInteger(job.step)}`;
  switch (job.status) {
    case "queued": {
      const place = job.queue_position;
      const where = place == null ? "" : place === 1 ? " · next to start" : ` · ${ordinal(place)} in the queue`;
      const ahead = place != null && place > 1 ? `${place - 1} job${place === 2 ? "" : "s"} ahead of it` : "";
      return { label: `queued${where}`, fraction: null, detail: ahead, eta: null };
    }
    case "succeeded":
      return { label: "done", fraction: 1, detail: total ? `${formatInteger(total)} steps` : "", eta: null };
    case "failed":
    case "cancelled":
      return { label: job.status, fraction: total ? job.step / total : null, detail: `stopped at ${steps}`, eta: null };
  }
  const phase = job.phase ?? "starting";
  if (phase === "training") {
    return {
      label: "training",
      fraction: total ? job.step / total : null,
      detail: steps,
      eta: job.eta_seconds != null ? `about ${formatDuration(job.eta_seconds)} left, evaluations included` : null,
    };
  }
  if (phase === "evaluating") {
    const label =
      job.step === 0 ? "evaluating before training" : total && job.step >= total ? "final evaluation" : `evaluating at step ${formatInteger(job.step)}`;
    const evaluation = evaluationProgress(job);
    if (evaluation) {
      return {
        label,
        fraction: evaluation.done / evaluation.total,
        detail: `${evaluation.benchmark}: ${formatInteger(evaluation.done)} of ${formatInteger(evaluation.total)} examples`,
        eta: evaluation.eta != null ? `about ${formatDuration(evaluation.eta)} left` : null,
      };
    }
    const benchmarks = job.config.evaluation.benchmarks;
    return {
      label,
      fraction: null,
      detail: `${benchmarks.join(", ")}${total && job.step < total ? ` · training at ${steps}` : ""}`,
      eta: null,
    };
  }
  return { label: PHASE_WORDS[phase] ?? phase.replaceAll("_", " "), fraction: null, detail: total ? steps : "", eta: null };
}
