/**
 * Dataset upload with a progress bar.
 *
 * Why not the generated client: it is built on fetch(), and fetch cannot report how much of a
 * request body has been sent. XMLHttpRequest can (`upload.onprogress`), so this one call —
 * POST /api/v1/datasets, multipart {file, name, team_id} — goes through XHR. Its request and
 * response types are still the generated ones.
 */
import { ApiError } from "./api";
import type { DatasetPublic, DatasetsUploadDatasetData } from "./client";

export type UploadFields = DatasetsUploadDatasetData["body"];

export function uploadDataset(
  fields: UploadFields,
  onProgress: (fraction: number) => void,
): Promise<DatasetPublic> {
  const form = new FormData();
  form.append("file", fields.file);
  if (fields.name) form.append("name", fields.name);
  if (fields.team_id !== undefined && fields.team_id !== null) {
    form.append("team_id", String(fields.team_id));
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/datasets");
    xhr.withCredentials = true;
    xhr.responseType = "text";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON (a proxy's error page): keep the text
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(body as DatasetPublic);
      } else {
        reject(new ApiError(xhr.status, body));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "the upload could not reach the studio"));
    xhr.send(form);
  });
}
