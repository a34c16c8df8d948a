import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";

import { ApiError, errorMessage } from "../../api";
import type { DatasetPublic } from "../../client";
import { formatInteger } from "../../format";
import { uploadDataset } from "../../upload";
import ProgressBar from "../Layout/ProgressBar";
import UploadProblemsTable, { isUploadError } from "./UploadProblemsTable";

/** Drag a file here (or pick one): JSON array, JSON Lines or CSV in the Alpaca shape. */
export default function UploadDatasetZone({
  teamId,
  onUploaded,
}: {
  readonly teamId: number | undefined;
  readonly onUploaded?: (dataset: DatasetPublic) => void;
}) {
  const queryClient = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [name, setName] = useState("");
  const [progress, setProgress] = useState<number | null>(null);
  const upload = useMutation({
    mutationFn: (file: File) =>
      uploadDataset({ file, name: name.trim() || undefined, team_id: teamId }, setProgress),
    onSuccess: (dataset) => {
      setName("");
      void queryClient.invalidateQueries({ queryKey: ["datasets"] });
      onUploaded?.(dataset);
    },
  });

  const send = (files: FileList | null) => {
    const file = files?.[0];
    if (!file) return;
    setProgress(0);
    upload.mutate(file);
  };

  const errorBody = upload.error instanceof ApiError ? upload.error.body : null;
  return (
    <div className="card">
      <h2>Upload a dataset</h2>
      <div className="row" style={{ marginBottom: "0.75rem" }}>
        <label style={{ flex: 1, maxWidth: 360 }}>
          Name (optional: the file name otherwise)
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="math_10k" />
        </label>
      </div>
      <div
        className={`dropzone${over ? " over" : ""}`}
        data-testid="dropzone"
        role="button"
        tabIndex={0}
        onClick={() => input.current?.click()}
        onKeyDown={(e) => {
          if (e.key === "Enter" || e.key === " ") input.current?.click();
        }}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          send(e.dataTransfer.files);
        }}
      >
        <strong>Drop a file here, or click to choose one</strong>
        <span className="muted small">
          JSON array, JSON Lines or CSV with <code>instruction</code>, optional <code>input</code>,{" "}
          <code>output</code> and, for evaluation sets, <code>answer</code>.
        </span>
        <input
          ref={input}
          type="file"
          name="file"
          accept=".json,.jsonl,.csv,application/json,text/csv"
          hidden
          onChange={(e) => {
            send(e.target.files);
            e.target.value = "";
          }}
        />
      </div>
      {progress !== null && (upload.isPending || upload.isSuccess) && (
        <div style={{ marginTop: "0.75rem" }}>
          <ProgressBar fraction={progress} label="upload progress" />
        </div>
      )}
      {upload.isSuccess && (
        <p className="muted" role="status">
          Stored “{upload.data.name}”: {formatInteger(upload.data.row_count)} rows
          {upload.data.dropped_rows ? `, ${upload.data.dropped_rows} duplicate rows dropped` : ""}.
        </p>
      )}
      {upload.isError && (
        <div style={{ marginTop: "0.75rem" }}>
          {isUploadError(errorBody) ? (
            <UploadProblemsTable error={errorBody} />
          ) : (
            <p className="error-box" role="alert">
              {errorMessage(upload.error)}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
