import { fireEvent, render, screen } from "@testing-library/react";
import { ApiError } from "../../lib/api";
import { formatBytes } from "../../lib/format";
import { uploadImage, type ImageDetails } from "./api";
import { ImageTable } from "./ImageTable";
import { imageRows, progressText } from "./rows";

const pushed = (cid: string, over: Partial<ImageDetails> = {}): ImageDetails => ({
  cid, name: "gpurent-test/upload", tag: "1", size: 2_500_000, digest: "sha256:ab", ...over,
});

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
