import { useEffect, useId, useRef, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText } from "../../lib/api";
import { progressText, type Upload } from "../../lib/upload";

export interface Progress {
  sent: number;
  total: number;
}

/** One upload at a time with its progress and its refusal in words; stopped when the form goes. */
export function useFileUpload<T>() {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = useRef<Upload<T> | null>(null);
  useEffect(() => () => running.current?.abort(), []);

  /** Starts `send` (given the progress callback) for `file` unless one is running. */
  const start = (file: Blob, send: (onProgress: (sent: number, total: number) => void) => Upload<T>, onDone: (answer: T) => void) => {
    if (running.current) return;
    setError(null);
    setProgress({ sent: 0, total: file.size });
    const upload = send((sent, total) => setProgress({ sent, total }));
    running.current = upload;
    upload.done.then(onDone, (err: unknown) => setError(`The upload was refused: ${errorText(err)}`)).finally(() => {
      running.current = null;
      setProgress(null);
    });
  };
  return { progress, error, start, stop: () => running.current?.abort() };
}

export interface UploadState {
  progress: Progress | null;
  error: string | null;
  stop(): void;
}

/** An upload form's submit button (`submit`, enabled once a file is picked and none runs), its
 * stop button while one runs, the progress bar (labelled `progressLabel`) with its percentage
 * announced as it changes, and the refusal's line. */
export function UploadControls({ submit, ready, progressLabel, upload }: {
  submit: string; ready: boolean; progressLabel: string; upload: UploadState;
}) {
  const id = useId();
  const shown = upload.progress && progressText(upload.progress.sent, upload.progress.total);
  return (
    <>
      <div className="actions-row">
        <button type="submit" className="primary" disabled={!ready || shown !== null}>
          {submit}
        </button>
        {shown && (
          <button type="button" onClick={upload.stop}>
            Stop the upload
          </button>
        )}
      </div>
      {shown && (
        <p className="status">
          <label htmlFor={id}>{progressLabel}</label> <progress id={id} max={1} value={shown.fraction} />{" "}
          <span aria-live="polite">{shown.text}</span>
        </p>
      )}
      <ErrorLine error={upload.error} />
    </>
  );
}
