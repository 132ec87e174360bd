// Saving what the page holds as a file: routes that need the session's token cannot be plain links.

/** Saves `blob` as `name` through a link to an object URL (the routes need the session's
 * token, which a plain link cannot carry). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
