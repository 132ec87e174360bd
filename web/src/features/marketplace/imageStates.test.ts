import { imageStateText, parseImageStates } from "./imageStates";

const CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
const A = "0x" + "ab".repeat(20);
const B = "0x" + "cd".repeat(20);

describe("where an image is cached", () => {
  it("keeps each provider's state and reads anything else as not known", () => {
    const answer = { cid: CID, providers: { [A]: "ready", [B]: "<b>everywhere</b>", "0xnot-an-address": "ready" } };
    expect(parseImageStates(answer, CID)).toEqual({ [A]: "ready", [B]: null });
    expect(parseImageStates({ cid: CID, providers: { [A]: null } }, CID)).toEqual({ [A]: null });
  });
  it("takes nothing from an answer about another image or of another shape", () => {
    expect(parseImageStates({ cid: "bafyother", providers: { [A]: "ready" } }, CID)).toEqual({});
    for (const bad of [null, "ready", [], { cid: CID }, { cid: CID, providers: "ready" }]) {
      expect(parseImageStates(bad, CID)).toEqual({});
    }
  });
  it("says what each state means for the start", () => {
    expect(imageStateText("ready")).toBe("image already cached here: starts without a download");
    expect(imageStateText("stored")).toMatch(/without a download/);
    expect(imageStateText("absent")).toMatch(/downloaded first/);
    expect(imageStateText(null)).toMatch(/not known/);
    expect(imageStateText(undefined)).toBe("");
  });
});
