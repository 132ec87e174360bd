import { act, fireEvent, render, screen } from "@testing-library/react";
import { ApiError } from "../../lib/api";
import { formatBytes } from "../../lib/format";
import { progressText } from "../../lib/upload";
import { uploadData, uploadImage, type DataDetails, type ImageDetails } from "./api";
import { DataUploadForm } from "./DataUploadForm";
import { ImageTable } from "./ImageTable";
import { imageRows } from "./rows";

const pushed = (cid: string, over: Partial<ImageDetails> = {}): ImageDetails => ({
  cid, name: "gpurent-test/upload", tag: "1", size: 2_500_000, digest: "sha256:ab", ...over,
});

const made: FakeXhr[] = [];

/** An XMLHttpRequest stand-in: records what was sent, answers when told. */
class FakeXhr {
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = "";
  opened: string[] = [];
  headers: Record<string, string> = {};
  body: unknown = null;
  open(method: string, url: string) { this.opened = [method, url]; }
  setRequestHeader(name: string, value: string) { this.headers[name] = value; }
  send(body: unknown) { this.body = body; }
  abort() { this.onabort?.(); }
  constructor() { made.push(this); }
  answer(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

function start(file = new Blob(["x".repeat(1000)])) {
  const xhr = new FakeXhr();
  const seen: [number, number][] = [];
  const upload = uploadImage(file, "jwt", (sent, total) => seen.push([sent, total]), () => xhr as unknown as XMLHttpRequest);
  return { xhr, seen, upload, file };
}

describe("uploadImage", () => {
  it("posts the file as the body, signed in, and reports its progress", async () => {
    const { xhr, seen, upload, file } = start();
    expect(xhr.opened).toEqual(["POST", "/api/v1/images/upload"]);
    expect(xhr.headers.Authorization).toBe("Bearer jwt");
    expect(xhr.body).toBe(file);
    xhr.upload.onprogress?.({ loaded: 400, total: 1000, lengthComputable: true } as ProgressEvent);
    xhr.upload.onprogress?.({ loaded: 1000, total: 0, lengthComputable: false } as ProgressEvent);
    expect(seen).toEqual([[400, 1000], [1000, 1000]]);
    xhr.answer(200, pushed("bafyimage"));
    await expect(upload.done).resolves.toEqual(pushed("bafyimage"));
  });
  it("rejects with the gateway's one-line error", async () => {
    const { xhr, upload } = start();
    xhr.answer(400, { error: "not a docker-archive tar: no manifest.json" });
    await expect(upload.done).rejects.toEqual(new ApiError(400, "not a docker-archive tar: no manifest.json"));
  });
  it("says a broken connection and a stopped upload in words", async () => {
    const broken = start();
    broken.xhr.onerror?.();
    await expect(broken.upload.done).rejects.toThrow("The upload broke off");
    const stopped = start();
    stopped.upload.abort();
    await expect(stopped.upload.done).rejects.toThrow("You stopped the upload: nothing was stored.");
  });
});

describe("image rows", () => {
  it("puts this visit's uploads first, then the index's, one row a CID with what is known", () => {
    const known = new Map([["bafyold", pushed("bafyold", { size: 10 })]]);
    const rows = imageRows([pushed("bafynew"), pushed("bafyran")],
      [{ cid: "bafyran", jobs: 3, firstSeen: 100 }, { cid: "bafyold", jobs: 1, firstSeen: 50 }, { cid: "bafyunknown", jobs: 1, firstSeen: 60 }],
      known);
    expect(rows.map((r) => [r.cid, r.jobs, r.details?.size ?? null])).toEqual([
      ["bafynew", 0, 2_500_000], ["bafyran", 3, 2_500_000], ["bafyold", 1, 10], ["bafyunknown", 1, null],
    ]);
  });
  it("says the progress in whole percent, never over 100", () => {
    expect(progressText(1, 3)).toEqual({ fraction: 1 / 3, text: "33% sent" });
    expect(progressText(5, 4).text).toBe("100% sent");
    expect(progressText(0, 0).text).toBe("0% sent");
  });
  it("formats sizes in binary units", () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(2.25 * 1024 ** 2), formatBytes(null)]).toEqual(["512 B", "1.5 KiB", "2.25 MiB", "—"]);
  });
});

describe("ImageTable", () => {
  it("shows CIDs, names, sizes and jobs run as text, and asks for a row's details", () => {
    const asked: string[] = [];
    const { container } = render(<ImageTable rows={[{ cid: "bafyx", jobs: 2, firstSeen: null, details: pushed("bafyx", { name: "<img src=x onerror=alert(1)>" }) }]}
      onDetails={(cid) => asked.push(cid)} />);
    expect(screen.getByText("<img src=x onerror=alert(1)>:1")).toBeTruthy();
    expect(container.querySelector("tbody img")).toBeNull();
    expect(screen.getByText("2.38 MiB")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Details of bafyx" }));
    expect(asked).toEqual(["bafyx"]);
  });
});

const dataset = (over: Partial<DataDetails> = {}): DataDetails => ({
  cid: "bafkreidataset", name: "train labels.csv", size: 3000, digest: `sha256:${"ab".repeat(32)}`, ...over,
});

describe("uploadData", () => {
  it("posts the file as the body with its name in the query, and says a lapsed session in words", async () => {
    const xhr = new FakeXhr();
    const file = new File(["a,b\n1,2\n"], "train labels.csv");
    const upload = uploadData(file, "jwt", () => undefined, () => xhr as unknown as XMLHttpRequest);
    expect(xhr.opened).toEqual(["POST", "/api/v1/data/upload?name=train+labels.csv"]);
    expect(xhr.headers).toMatchObject({ Authorization: "Bearer jwt", "Content-Type": "application/octet-stream" });
    expect(xhr.body).toBe(file);
    xhr.answer(401, { error: "sign in first: Authorization: Bearer <token>" });
    await expect(upload.done).rejects.toThrow("You are not signed in, or your session has ended: sign in again");
  });
});

describe("DataUploadForm", () => {
  beforeEach(() => {
    made.length = 0;
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
  });
  afterEach(() => vi.unstubAllGlobals());

  function choose(name = "train labels.csv", size = 3000) {
    render(<DataUploadForm token="jwt" />);
    const file = new File(["x".repeat(size)], name);
    fireEvent.change(screen.getByLabelText("Data file"), { target: { files: [file] } });
    fireEvent.click(screen.getByRole("button", { name: "Upload the file" }));
    expect(made).toHaveLength(1);
    return made[0] as FakeXhr;
  }

  it("shows the progress, then the CID, size, digest and how a job mounts it", async () => {
    const xhr = choose();
    act(() => xhr.upload.onprogress?.({ loaded: 1200, total: 3000, lengthComputable: true } as ProgressEvent));
    expect(screen.getByLabelText("Data upload progress")).toBeTruthy();
    expect(screen.getByText("40% sent")).toBeTruthy();
    expect((screen.getByRole("button", { name: "Upload the file" }) as HTMLButtonElement).disabled).toBe(true);
    await act(async () => xhr.answer(200, dataset()));
    const done = screen.getByRole("status");
    expect(done.textContent).toContain("Uploaded train labels.csv (2.92 KiB).");
    expect(screen.getByText("bafkreidataset")).toBeTruthy();
    expect(screen.getByText("2.92 KiB (3,000 bytes)")).toBeTruthy();
    expect(screen.getByText(`sha256:${"ab".repeat(32)}`)).toBeTruthy();
    expect(screen.getByText("--input bafkreidataset:/data")).toBeTruthy();
    expect(done.querySelector("pre")?.textContent).toBe('[[inputs]]\ncid  = "bafkreidataset"\npath = "/data"');
    expect(screen.queryByLabelText("Data upload progress")).toBeNull();
  });

  it("says the gateway's refusal in its own line and a lapsed session in words", async () => {
    const big = choose("big.bin");
    await act(async () => big.answer(413, { error: "the file is 3.0 MiB, over the 2.0 MiB limit" }));
    expect(screen.getByRole("alert").textContent).toBe("The upload was refused: the file is 3.0 MiB, over the 2.0 MiB limit");
    expect(screen.queryByRole("status")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Upload the file" }));
    await act(async () => (made[1] as FakeXhr).answer(401, { error: "token expired" }));
    expect(screen.getByRole("alert").textContent).toBe(
      "The upload was refused: You are not signed in, or your session has ended: sign in again (the gateway said: token expired).");
  });

  it("stops the upload when asked, storing nothing", async () => {
    choose();
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Stop the upload" })));
    expect(screen.getByRole("alert").textContent).toBe("The upload was refused: You stopped the upload: nothing was stored.");
  });
});
