import { useEffect, useMemo, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText, isAbort } from "../../lib/api";
import { useSession } from "../auth";
import { fetchImage, fetchImages, type ImageDetails, type ImageEntry } from "./api";
import { ImageDetailsView } from "./ImageDetailsView";
import { ImageTable } from "./ImageTable";
import { imageRows } from "./rows";
import { DataUploadForm } from "./DataUploadForm";
import { UploadForm } from "./UploadForm";

const LIMIT = 50;

/** Upload a docker-archive image or a dataset file; the images jobs ran (and this visit's
 * uploads) with their details from IPFS. */
export function ImagesPage() {
  const { session } = useSession();
  const [uploaded, setUploaded] = useState<ImageDetails[]>([]);
  const [indexed, setIndexed] = useState<ImageEntry[]>([]);
  const [listError, setListError] = useState<string | null>(null);
  const [known, setKnown] = useState<ReadonlyMap<string, ImageDetails>>(new Map());
  const [selected, setSelected] = useState<string | null>(null);
  const [detailError, setDetailError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    fetchImages(LIMIT, abort.signal).then(
      (answer) => setIndexed(answer.items),
      (err: unknown) => !isAbort(err) && setListError(`Could not read the images: ${errorText(err)}`),
    );
    return () => abort.abort();
  }, [uploaded]);

  useEffect(() => {
    if (!selected) return undefined;
    const abort = new AbortController();
    setDetailError(null);
    fetchImage(selected, abort.signal).then(
      (details) => setKnown((old) => new Map(old).set(selected, details)),
      (err: unknown) => !isAbort(err) && setDetailError(`Could not read the image's details: ${errorText(err)}`),
    );
    return () => abort.abort();
  }, [selected]);

  const rows = useMemo(() => imageRows(uploaded, indexed, known), [uploaded, indexed, known]);
  return (
    <section aria-labelledby="images-title">
      <h1 id="images-title">Images and data</h1>
      {session ? (
        <>
          <UploadForm token={session.token} onUploaded={(image) => setUploaded((old) => [image, ...old])} />
          <DataUploadForm token={session.token} />
        </>
      ) : (
        <p>Connect your wallet and sign in to upload an image or data.</p>
      )}
      <h2>Images</h2>
      <ErrorLine error={listError} />
      <ImageTable rows={rows} onDetails={setSelected} />
      {selected && <ImageDetailsView cid={selected} details={known.get(selected) ?? null} error={detailError} />}
    </section>
  );
}
