import { useEffect, useRef, useState, type FormEvent } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Field } from "../../components/Field";
import { errorText } from "../../lib/api";
import { formatBytes } from "../../lib/format";
import { uploadImage, type ImageDetails, type Upload } from "./api";
import { progressText } from "./rows";

/** Pick a docker-archive tar (`docker save`), send it with its progress shown; the gateway's
 * refusal is said in its own line. */
export function UploadForm({ token, onUploaded }: { token: string; onUploaded(image: ImageDetails): void }) {
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const running = useRef<Upload | null>(null);
  useEffect(() => () => running.current?.abort(), []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file || running.current) return;
    setError(null);
    setDone(null);
    setProgress({ sent: 0, total: file.size });
    const upload = uploadImage(file, token, (sent, total) => setProgress({ sent, total }));
    running.current = upload;
    upload.done.then(
      (image) => {
        setDone(`Uploaded ${image.name}:${image.tag} (${formatBytes(image.size)}) as ${image.cid}.`);
        onUploaded(image);
      },
      (err: unknown) => setError(`The upload was refused: ${errorText(err)}`),
    ).finally(() => {
      running.current = null;
      setProgress(null);
    });
  };

  const shown = progress && progressText(progress.sent, progress.total);
  return (
    <form className="upload" onSubmit={submit} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload an image</h2>
      <Field label="Docker image archive (.tar)" hint="As `docker save IMAGE -o image.tar` writes it.">
        {(id) => <input id={id} type="file" accept=".tar,application/x-tar" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
      </Field>
      <div className="actions-row">
        <button type="submit" className="primary" disabled={!file || progress !== null}>
          Upload
        </button>
        {progress !== null && (
          <button type="button" onClick={() => running.current?.abort()}>
            Stop the upload
          </button>
        )}
      </div>
      {shown && (
        <p className="status">
          <label htmlFor="upload-progress">Upload progress</label>{" "}
          <progress id="upload-progress" max={1} value={shown.fraction} /> <span aria-live="polite">{shown.text}</span>
        </p>
      )}
      <ErrorLine error={error} />
      {done && <p role="status" className="done">{done}</p>}
    </form>
  );
}
