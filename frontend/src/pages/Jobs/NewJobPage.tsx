import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useSearchParams } from "react-router";

import { errorMessage } from "../../api";
import { jobsCloneJob, jobsCreateJob } from "../../client";
import type { JobConfigCreate, JobDefaults } from "../../client";
import QueryState from "../../components/Layout/QueryState";
import NewJobForm from "../../components/Jobs/NewJobForm";
import { cloneOverrides, draftFromConfig, newDraft } from "../../components/Jobs/jobDraft";
import { benchmarksQuery, datasetsQuery, jobDefaultsQuery, jobQuery, methodsQuery, modelsQuery } from "../../queries";
import { useTeam } from "../../team";

/** /jobs/new, /jobs/new?clone=12 (clone-and-edit), /jobs/new?dataset=3 */
export default function NewJobPage() {
  const [search] = useSearchParams();
  const cloneId = Number(search.get("clone")) || null;
  const datasetParam = Number(search.get("dataset")) || null;
  const { teamId } = useTeam();
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  const models = useQuery(modelsQuery());
  const methods = useQuery(methodsQuery());
  const datasets = useQuery(datasetsQuery(teamId));
  const benchmarks = useQuery(benchmarksQuery());
  const defaults = useQuery({ ...jobDefaultsQuery(), enabled: cloneId === null });
  const source = useQuery({ ...jobQuery(cloneId ?? 0), enabled: cloneId !== null });

  // A clone goes through the API's clone with only what the form changed, so the fields of the
  // stored config that the form does not show (set through REST) are kept.
  const create = useMutation({
    mutationFn: async ({ config, initial }: { config: JobConfigCreate; initial: JobConfigCreate | null }) => {
      const method = methods.data?.data.find((m) => m.name === config.adapter.method);
      if (cloneId !== null && method) {
        // the name travels as the clone's own field (the API names a nameless clone "… (copy)")
        const { name: _name, ...overrides } = cloneOverrides(initial ?? {}, config, method);
        const body = { name: config.name, overrides };
        return (await jobsCloneJob({ path: { job_id: cloneId }, body })).data;
      }
      return (await jobsCreateJob({ body: { team_id: teamId, config } })).data;
    },
    onSuccess: (job) => {
      queryClient.setQueryData(jobQuery(job.id).queryKey, job);
      void queryClient.invalidateQueries({ queryKey: ["jobs", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["datasets"] });
      navigate(`/jobs/${job.id}`);
    },
  });

  const loading = [models, methods, datasets, benchmarks, ...(cloneId === null ? [defaults] : [])].find(
    (q) => q.isPending || q.isError,
  );
  const ready =
    models.data && methods.data && datasets.data && benchmarks.data && (cloneId === null ? defaults.data : source.data);

  let form = null;
  if (ready) {
    const methodList = methods.data.data;
    const initial = source.data
      ? draftFromConfig(source.data.config, methodList)
      : newDraft(
          defaults.data as JobDefaults,
          methodList.find((m) => m.name === defaults.data?.adapter.method) ?? methodList[0],
          models.data.data[0]?.reference ?? "",
          datasetParam ?? datasets.data.data[0]?.id ?? null,
        );
    form = (
      <NewJobForm
        key={cloneId ?? "new"}
        models={models.data.data}
        methods={methodList}
        datasets={datasets.data.data}
        benchmarks={benchmarks.data.data}
        initialDraft={initial}
        submitting={create.isPending}
        submitError={create.isError ? errorMessage(create.error) : null}
        onSubmit={(config, initialConfig) => create.mutate({ config, initial: initialConfig })}
      />
    );
  }

  return (
    <>
      <div className="page-head">
        <div>
          <h1>{source.data ? `New job from “${source.data.name}”` : "New job"}</h1>
          <p className="muted">
            {source.data ? (
              <>
                A copy of <Link to={`/jobs/${source.data.id}`}>job {source.data.id}</Link>'s settings: change what you
                like and start it as a new job.
              </>
            ) : (
              "Pick a base model, an adapter and where it goes, then train."
            )}
          </p>
        </div>
      </div>
      {loading && <QueryState isPending={loading.isPending} error={loading.error} what="the catalogues" />}
      {cloneId !== null && <QueryState isPending={source.isPending} error={source.error} what={`job ${cloneId}`} />}
      {models.data && models.data.count === 0 && (
        <p className="empty">No base models are registered. An administrator adds one with POST /api/v1/models.</p>
      )}
      {form}
    </>
  );
}
