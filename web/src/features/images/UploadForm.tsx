import { useState, type FormEvent } from "react";
import { Field } from "../../components/Field";
import { formatBytes } from "../../lib/format";
import { uploadImage, type ImageDetails } from "./api";
import { UploadControls, useFileUpload } from "./useFileUpload";

/** Pick a docker-archive tar (`docker save`), send it with its progress shown; the gateway's
 * refusal is said in its own line. */
export function UploadForm({ token, onUploaded }: { token: string; onUploaded(image: ImageDetails): void }) {
  const [file, setFile] = useState<File | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const upload = useFileUpload<ImageDetails>();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setDone(null);
    upload.start(file, (onProgress) => uploadImage(file, token, onProgress), (image) => {
      setDone(`Uploaded ${image.name}:${image.tag} (${formatBytes(image.size)}) as ${image.cid}.`);
      onUploaded(image);
    });
  };

  return (
    <form className="upload" onSubmit={submit} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload an image</h2>
      <Field label="Docker image archive (.tar)" hint="As `docker save IMAGE -o image.tar` writes it.">
        {(id) => <input id={id} type="file" accept=".tar,application/x-tar" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
      </Field>
      <UploadControls submit="Upload" ready={file !== null} progressLabel="Upload progress" upload={upload} />
      {done && <p role="status" className="done">{done}</p>}
    </form>
  );
}
