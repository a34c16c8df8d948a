import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";

import { errorMessage } from "../../api";
import { demoStartDemo } from "../../client";
import { jobQuery } from "../../queries";

/**
 * The starter of a fresh studio: one click queues the demo (LoRA on the built-in model over
 * synthetic two-digit word problems, evaluated on held-out ones before training and every 20
 * steps) and opens its job page, where the accuracy curve rises as it trains.
 */
export default function StartDemoCard({ teamId, compact = false }: { readonly teamId?: number; readonly compact?: boolean }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const start = useMutation({
    mutationFn: async () => (await demoStartDemo({ body: { team_id: teamId ?? null } })).data,
    onSuccess: (job) => {
      queryClient.setQueryData(jobQuery(job.id).queryKey, job);
      void queryClient.invalidateQueries({ queryKey: ["jobs", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["datasets"] });
      void queryClient.invalidateQueries({ queryKey: ["benchmarks"] });
      navigate(`/jobs/${job.id}`);
    },
  });
  const button = (
    <button type="button" className={compact ? undefined : "primary"} disabled={start.isPending} onClick={() => start.mutate()}>
      {start.isPending ? "Starting the demo…" : "Run the demo"}
    </button>
  );
  if (compact) return button;
  return (
    <section className="card demo-card" aria-labelledby="demo-title" data-testid="demo-card">
      <h2 id="demo-title">Watch a model learn, in about ten minutes on a CPU</h2>
      <p>
        The built-in model (SmolLM2-135M) gets two-digit word problems wrong. The demo trains a LoRA adapter on 480 of them
        and checks 100 it never saw — before training and every 20 steps — so the accuracy curve shows what the adapter
        learned (from a few per cent to over half on a 2-core CPU).
      </p>
      <div className="row">
        {button}
        <span className="muted small">Creates the demo dataset and one job for your team.</span>
      </div>
      {start.error && (
        <p className="error-box" role="alert">
          {errorMessage(start.error)}
        </p>
      )}
    </section>
  );
}
