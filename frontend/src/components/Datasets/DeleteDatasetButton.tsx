import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";

import { datasetsDeleteDataset } from "../../client";
import ConfirmButton from "../Layout/ConfirmButton";

/** Deletes a dataset after a confirm; a dataset a job uses is refused (409) and says so. */
export default function DeleteDatasetButton({ datasetId, name }: { readonly datasetId: number; readonly name: string }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: async () => (await datasetsDeleteDataset({ path: { dataset_id: datasetId } })).data,
    onSuccess: () => {
      void navigate("/datasets");
      queryClient.removeQueries({ queryKey: ["datasets", datasetId] });
      void queryClient.invalidateQueries({ queryKey: ["datasets"] });
    },
  });
  return (
    <ConfirmButton
      label="Delete"
      question={`Delete “${name}”?`}
      busy={remove.isPending}
      error={remove.isError ? remove.error : null}
      onConfirm={() => remove.mutate()}
    />
  );
}
