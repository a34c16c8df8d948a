import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { errorMessage } from "../../api";
import { jobsCreateExport, jobsListExports } from "../../client";
import type { ExportPublic } from "../../client";

const FORMATS = [
  { format: "merged", label: "Merged model", hint: "base + adapter as safetensors and tokenizer (zip)" },
  { format: "gguf", label: "GGUF", hint: "one file for llama.cpp and Ollama (LLaMA family, f16)" },
] as const;

/** A finished job's adapter exported as a merged model or a GGUF file: start, follow, download.
 *  The export runs on a worker; the list is polled while one is queued or running. */
export default function ExportPanel({ jobId }: { readonly jobId: number }) {
  const queryClient = useQueryClient();
  const exports = useQuery({
    queryKey: ["jobs", jobId, "exports"],
    queryFn: async () => (await jobsListExports({ path: { job_id: jobId } })).data,
    refetchInterval: (query) =>
      query.state.data?.data.some((e) => e.status === "queued" || e.status === "running") ? 1500 : false,
  });
  const start = useMutation({
    mutationFn: async (format: "merged" | "gguf") =>
      (await jobsCreateExport({ path: { job_id: jobId }, body: { format } })).data,
    onSettled: () => void queryClient.invalidateQueries({ queryKey: ["jobs", jobId, "exports"] }),
  });
  const byFormat = new Map<string, ExportPublic>((exports.data?.data ?? []).map((e) => [e.format, e]));
  return (
    <div className="card" data-testid="export-panel">
      <h2>Export</h2>
      <div style={{ display: "grid", gap: "0.75rem" }}>
        {FORMATS.map(({ format, label, hint }) => {
          const state = byFormat.get(format);
          const busy = state?.status === "queued" || state?.status === "running";
          return (
            <div key={format} className="row" style={{ justifyContent: "space-between", flexWrap: "wrap" }}>
              <div style={{ minWidth: 0, flex: "1 1 240px" }}>
                <strong>{label}</strong> <span className="muted small">{hint}</span>
                {state && (
                  <p className="muted small" role="status" data-testid={`export-${format}-status`}>
                    {state.status}
                    {busy && state.phase ? ` · ${state.phase.replace("_", " ")}` : ""}
                    {state.status === "succeeded" && state.size_bytes
                      ? ` · ${(state.size_bytes / 1e6).toFixed(1)} MB in ${Math.round(state.seconds ?? 0)} s`
                      : ""}
                  </p>
                )}
                {state?.status === "failed" && state.error && (
                  <p className="error-box" role="alert">
                    {state.error}
                  </p>
                )}
              </div>
              <div className="row">
                <button type="button" disabled={busy || start.isPending} onClick={() => start.mutate(format)}>
                  {busy ? "Exporting…" : state ? "Export again" : "Export"}
                </button>
                {state?.status === "succeeded" && (
                  <a className="button" href={`/api/v1/jobs/${jobId}/exports/${format}/download`} download>
                    Download
                  </a>
                )}
              </div>
            </div>
          );
        })}
      </div>
      {start.isError && (
        <p className="error-box" role="alert">
          {errorMessage(start.error)}
        </p>
      )}
    </div>
  );
}
