// The one plain HTML frame of the site's own pages (landing page, upload listing, the seeded
// index.html): readable on a projector, no scripts, no external resources.

/** A complete page; `title` and `body` are HTML (escape what came from outside). */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}pre{background:#f4f4f4;padding:.6em}</style>
</head><body><h1>${title}</h1>
${body}
</body></html>
`;
}
