import type { JobPublic } from "../../client";
import { phaseProgress } from "./jobProgress";

/**
 * The job's current phase with its own progress (see jobProgress.ts): a bar for a phase whose
 * progress is known, a moving stripe for one whose is not, and the figures behind it in words.
 */
export default function JobProgress({ job, compact = false }: { readonly job: JobPublic; readonly compact?: boolean }) {
  const p = phaseProgress(job);
  const pct = p.fraction === null ? null : Math.round(Math.max(0, Math.min(1, p.fraction)) * 100);
  return (
    <div className={`job-progress${compact ? " compact" : ""}`} data-testid={`job-progress-${job.id}`}>
      <div
        className={`progress${pct === null ? " indeterminate" : ""}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
        aria-valuetext={pct === null ? p.label : `${p.label}: ${pct} %`}
        aria-label={`progress of job ${job.id}`}
      >
        {pct !== null && <div className="progress-fill" style={{ width: `${pct}%` }} />}
        <span className="progress-text">{pct === null ? p.label : `${p.label} · ${pct} %`}</span>
      </div>
      <span className="muted small">
        {p.detail}
        {!compact && p.eta ? ` · ${p.eta}` : ""}
      </span>
    </div>
  );
}
