import { recordText, startText } from "./reliability";

const none = { completed: 0, started: 0, abandoned: 0, disputes: 0, disputesLost: 0, medianStartS: null, startSamples: 0, recentJobs: 200 };

describe("a provider's record", () => {
  it("says how its jobs ended, leaving out what did not happen", () => {
    expect(recordText(none)).toBe("no jobs yet");
    expect(recordText({ ...none, completed: 5, started: 5 })).toBe("5 completed");
    expect(recordText({ ...none, completed: 1, started: 3, disputes: 2, disputesLost: 0 })).toBe("1 completed · 2 disputes, 0 lost");
    expect(recordText({ ...none, abandoned: 1 })).toBe("0 completed · 1 abandoned");
  });
  it("gives the median time to start with how many jobs it rests on", () => {
    expect(startText(none)).toBe("no start yet");
    expect(startText({ ...none, medianStartS: 45, startSamples: 1 })).toBe("~45 s (median of 1 job)");
    expect(startText({ ...none, medianStartS: 150, startSamples: 4 })).toBe("~2 min 30 s (median of 4 jobs)");
  });
});
