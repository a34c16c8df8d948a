import { useQuery } from "@tanstack/react-query";

import { ApiError } from "../../api";
import { jobPromptsQuery } from "../../queries";
import QueryState from "../Layout/QueryState";

/**
 * A prompt exactly as the model sees it. Whitespace is kept (pre-wrap) and spaces or tabs at a
 * line's end are highlighted: the paper's template carries its source's trailing spaces, and a
 * copy that drops them is not the paper's prompt. The highlighted text is the real whitespace,
 * so copying the prompt copies it verbatim.
 */
export function VerbatimPrompt({ text, label }: { readonly text: string; readonly label: string }) {
  const lines = text.split("\n");
  return (
    <pre className="prompt-text" aria-label={label}>
      {lines.map((line, i) => {
        const body = line.replace(/[ \t]+$/, "");
        const trailing = line.slice(body.length);
        return (
          <span key={i}>
            {body}
            {trailing && (
              <span className="trailing-space" title={`${trailing.length} trailing whitespace character${trailing.length > 1 ? "s" : ""}`}>
                {trailing}
              </span>
            )}
            {i < lines.length - 1 ? "\n" : ""}
          </span>
        );
      })}
    </pre>
  );
}

/** The job's first training example rendered with its template: as trained on and as asked. */
export default function JobPromptsPanel({ jobId, live }: { readonly jobId: number; readonly live: boolean }) {
  const prompts = useQuery({
    ...jobPromptsQuery(jobId),
    // Written when training starts: a running job's 404 turns into prompts soon.
    refetchInterval: (query) => (live && !query.state.data ? 5000 : false),
  });
  if (prompts.error instanceof ApiError && prompts.error.status === 404) {
    return <p className="muted">The rendered prompts appear when the job starts training.</p>;
  }
  if (!prompts.data) return <QueryState isPending={prompts.isPending} error={prompts.error} what="prompts" />;
  const p = prompts.data;
  return (
    <div data-testid="job-prompts">
      <p className="muted small">
        The first training example with the <code>{p.template}</code> template, verbatim.{" "}
        <span className="trailing-space">Highlighted</span> whitespace ends a line (trailing spaces are part of the
        prompt).
      </p>
      <div className="grid-2 prompts-grid">
        <div>
          <h3>Training prompt</h3>
          <VerbatimPrompt text={p.training} label="Training prompt" />
        </div>
        <div>
          <h3>Evaluation prompt</h3>
          <VerbatimPrompt text={p.evaluation} label="Evaluation prompt" />
        </div>
      </div>
    </div>
  );
}
