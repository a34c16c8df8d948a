import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";

import { jobsDeleteJob } from "../../client";
import ConfirmButton from "../Layout/ConfirmButton";

/** Deletes a finished job (its curves, predictions and adapter) after a confirm, then shows /jobs. */
export default function DeleteJobButton({ jobId, name }: { readonly jobId: number; readonly name: string }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: async () => (await jobsDeleteJob({ path: { job_id: jobId } })).data,
    onSuccess: () => {
      void navigate("/jobs");
      queryClient.removeQueries({ queryKey: ["jobs", jobId] });
      void queryClient.invalidateQueries({ queryKey: ["jobs", "list"] });
      void queryClient.invalidateQueries({ queryKey: ["leaderboard"] });
      void queryClient.invalidateQueries({ queryKey: ["datasets"] });
    },
  });
  return (
    <ConfirmButton
      label="Delete"
      question={`Delete job “${name}”?`}
      busy={remove.isPending}
      error={remove.isError ? remove.error : null}
      onConfirm={() => remove.mutate()}
    />
  );
}
